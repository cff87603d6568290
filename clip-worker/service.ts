import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { batchDedupToken, insertRows } from '../core/analytics-store/insert.ts';
import type { Subscription } from '../core/bus/bus.ts';
import { publishDeadLetters } from '../core/dead-letters.ts';
import { createApiTokenVerifier, requireApiIdentity } from '../core/http/api-auth.ts';
import { API_TOKEN_SECURITY, documentRoutes } from '../core/http/openapi.ts';
import { IvsControlPlane } from '../core/ivs/ivs-control-plane.ts';
import { TimedMetadataPublisher } from '../core/ivs/timed-metadata.ts';
import type { Logger } from '../core/logger.ts';
import type { PlatformContext, ServiceDefinition } from '../core/platform.ts';
import { assertValid } from '../core/schemas/validate.ts';
import { decideStreamAccess } from '../core/streams/stream-ownership.ts';
import { StreamRegistry } from '../core/streams/stream-registry.ts';
import { clipEventValidator, type ClipEvent, type Highlight } from '../core/schemas/highlight.ts';
import { TOPICS } from '../core/topics.ts';
import { ClipJob } from './clip-job.ts';
import { clipProfileFromConfig, profileVersion } from '../core/clips/clip-profile.ts';
import { clipKeys, readManifest, type ClipFailure, type ClipJobRecord } from '../core/clips/clip-records.ts';
import { clipRows } from './clip-sink.ts';
import { FfmpegRunner } from './ffmpeg/ffmpeg.ts';
import { takeInHighlights } from './highlight-intake.ts';
import { ClipJobQueue } from './job-queue.ts';
import { ClipJobRunner } from './job-runner.ts';
import { ClickHouseRecordingLocator, recordingEventRows, writeRecordingEvents } from '../core/ivs/recording-index.ts';

/**
 * clip-worker: highlights → clips. Four consumers share one process:
 *
 * - `clip-worker` (highlights): intake; each highlight becomes a durable job record;
 * - the job runner: claims jobs with leases and runs ffmpeg, `concurrency` at a time;
 * - `clip-worker.recordings` (stream.lifecycle): the recording index in ClickHouse;
 * - `clip-worker.sink` (clips): clip events into ClickHouse.
 *
 * On SIGTERM it stops taking highlights, kills the running ffmpeg processes and releases their
 * leases, so another worker redoes those jobs at once.
 */
export const CLIP_WORKER_GROUPS = {
  intake: 'clip-worker',
  recordings: 'clip-worker.recordings',
  sink: 'clip-worker.sink',
} as const;

/** Temporary job directories older than this are leftovers of a killed worker on this host. */
const STALE_WORK_DIRECTORY_MS = 6 * 3_600_000;

async function removeStaleWorkDirectories(directory: string, logger: Logger): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(directory).catch(() => [] as string[])) {
    if (!name.startsWith('livepulse-clip-')) continue;
    const path = join(directory, name);
    const info = await stat(path).catch(() => null);
    if (info && now - info.mtimeMs > STALE_WORK_DIRECTORY_MS) {
      await rm(path, { recursive: true, force: true });
      logger.info({ path }, 'removed a stale clip work directory');
    }
  }
}

/** `GET /v1/clips/:clipId` behind an API token; who may read a clip is the stream registry's answer for its stream. */
function clipRoutes(
  app: FastifyInstance,
  { queue, context }: { queue: ClipJobQueue; context: PlatformContext },
): Promise<void> {
  const registry = new StreamRegistry(context.analytics, context.liveState);
  app.addHook('onRequest', requireApiIdentity(createApiTokenVerifier(context.config.auth)));
  documentRoutes(app, { tags: ['clips'], security: API_TOKEN_SECURITY });
  app.get<{ Params: { clipId: string } }>(
    '/clips/:clipId',
    {
      schema: {
        summary: "A clip's status: progress while its job runs, its manifest when made, the reason when it failed",
        tags: ['clips'],
        params: {
          type: 'object',
          properties: { clipId: { type: 'string', pattern: '^clip_[0-9a-f]{32}$' } },
          required: ['clipId'],
        },
      },
    },
    async (request, reply) => {
      const { clipId } = request.params;
      const [status, manifest, failure] = await Promise.all([
        queue.status(clipId),
        readManifest(context.objectStore, clipId, request.log as Logger),
        context.objectStore
          .get(clipKeys.failure(clipId))
          .then((raw) => JSON.parse(raw.toString('utf8')) as ClipFailure)
          .catch(() => null),
      ]);
      if (!status && !manifest && !failure)
        return reply.code(404).send({ error: 'not_found', message: `no clip ${clipId}` });
      // A failure record alone names no stream: only admins read it.
      const streamId = status?.stream_id ?? manifest?.stream_id;
      const access = decideStreamAccess(
        request.apiIdentity!,
        streamId ?? '(unknown)',
        streamId === undefined ? null : await registry.ownerOf(streamId),
      );
      if (access.kind === 'refused')
        return reply
          .code(403)
          .send({ error: 'forbidden', message: `this token may not read clip ${clipId}: ${access.message}` });
      return { clip_id: clipId, status, manifest, failure };
    },
  );
  return Promise.resolve();
}

export const clipWorkerService: ServiceDefinition = {
  name: 'clip-worker',
  description: 'highlights into clips: ffmpeg over IVS recordings in the object store',
  async start(context) {
    const { config, logger, metrics, bus, objectStore, liveState, analytics } = context;
    const settings = config.clips;
    const ffmpeg = new FfmpegRunner({ ffmpegPath: settings.ffmpegPath, ffprobePath: settings.ffprobePath });
    const profile = clipProfileFromConfig(settings);
    const version = profileVersion(profile);
    const workDirectory = settings.workDirectory ?? tmpdir();
    const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    await removeStaleWorkDirectories(workDirectory, logger);
    // Without ffmpeg the rest of the platform still runs; jobs wait and retry, and /readyz says why.
    await ffmpeg.version().then(
      (line) => logger.info({ ffmpeg: line }, 'ffmpeg found'),
      (error: unknown) => logger.error({ err: error }, 'ffmpeg is not available; clip jobs will fail until it is'),
    );

    const queue = new ClipJobQueue({ objectStore, liveState, workerId, leaseMs: settings.leaseMs, logger });
    const locator = new ClickHouseRecordingLocator(analytics);
    const intakeOutcomes = metrics.counter(
      'clip_highlights_total',
      'Highlights taken in by the clip worker, by outcome',
      ['outcome'],
    );
    const clipEvents = metrics.counter('clip_events_total', 'Clip events published, by status', ['status']);
    const markers = metrics.counter('clip_timed_metadata_total', 'IVS timed-metadata clip markers, by outcome', [
      'outcome',
    ]);

    const ivs = settings.putMetadata
      ? new IvsControlPlane({ region: config.ivs.region, endpoint: config.ivs.endpoint })
      : undefined;
    const timedMetadata = ivs
      ? new TimedMetadataPublisher({
          putMetadata: (arn, payload) => ivs.putMetadata(arn, payload),
          liveState,
          logger: logger.child({ component: 'ivs-timed-metadata' }),
          onOutcome: (outcome) => markers.inc({ outcome }),
        })
      : undefined;

    const publishClipEvent = async (event: ClipEvent) => {
      const valid = assertValid(clipEventValidator, event, 'ClipEvent');
      await bus.publish(TOPICS.clips, [{ key: valid.stream_id, value: Buffer.from(JSON.stringify(valid)) }]);
      clipEvents.inc({ status: valid.status });
    };

    const runner = new ClipJobRunner({
      queue,
      concurrency: settings.concurrency,
      scanIntervalMs: settings.scanIntervalMs,
      maxAttempts: settings.maxAttempts,
      logger: logger.child({ component: 'clip-jobs' }),
      metrics,
      execute: (record: ClipJobRecord, signal, reporter) =>
        new ClipJob(
          record,
          {
            objectStore,
            ffmpeg,
            locator,
            profile,
            profileVersion: version,
            publishClipEvent,
            markLiveMoment: timedMetadata ? (arn, marker) => timedMetadata.enqueue(arn, marker) : undefined,
            ivsRegion: config.ivs.region,
            workDirectory,
            liveWaitMs: settings.liveWaitMs,
            livePollMs: 1_000,
            recordingGraceMs: settings.recordingGraceMs,
            logger: logger.child({ clipId: record.clip_id }),
          },
          reporter,
          signal,
        ).run(),
      onPermanentFailure: async (record, reason) => {
        const highlight: Highlight = record.highlight;
        await publishClipEvent({
          schema_v: 1,
          clip_id: record.clip_id,
          highlight_id: highlight.highlight_id,
          stream_id: highlight.stream_id,
          status: 'failed',
          start: highlight.start,
          end: highlight.end,
          reason: reason.slice(0, 1024),
          finished_at: Date.now(),
        });
        await publishDeadLetters(bus, [
          {
            sourceTopic: TOPICS.highlights,
            payload: Buffer.from(JSON.stringify(highlight)),
            reason: `clip ${record.clip_id} failed: ${reason}`,
            origin: `clip-worker ${workerId}`,
          },
        ]);
      },
    });

    await context.http.register(clipRoutes, { prefix: '/v1', queue, context });

    const subscriptions: Subscription[] = [];
    const stopAll = async () => {
      await Promise.allSettled(subscriptions.map((s) => s.stop()));
    };
    try {
      const intake = await bus.subscribe({
        groupId: CLIP_WORKER_GROUPS.intake,
        topics: [TOPICS.highlights],
        maxBatchMessages: 100,
        handleBatch: async (batch) => {
          const result = await takeInHighlights(batch, queue, version, Date.now());
          if (result.deadLetters.length > 0) {
            await publishDeadLetters(bus, result.deadLetters);
            intakeOutcomes.inc({ outcome: 'invalid' }, result.deadLetters.length);
          }
          for (const job of result.jobs) {
            intakeOutcomes.inc({ outcome: job.outcome });
            if (job.outcome === 'enqueued') {
              logger.info(
                { clipId: job.clipId, highlightId: job.highlight.highlight_id, streamId: job.highlight.stream_id },
                'clip job queued',
              );
              runner.offer(job.clipId);
            }
          }
        },
      });
      subscriptions.push(intake);
      subscriptions.push(
        await bus.subscribe({
          groupId: CLIP_WORKER_GROUPS.recordings,
          topics: [TOPICS.streamLifecycle],
          handleBatch: async (batch) => {
            const { rows, deadLetters } = recordingEventRows(batch);
            await writeRecordingEvents(analytics, batch, rows);
            if (deadLetters.length > 0) await publishDeadLetters(bus, deadLetters);
          },
          dependencyCheck: () => analytics.ping(),
        }),
      );
      subscriptions.push(
        await bus.subscribe({
          groupId: CLIP_WORKER_GROUPS.sink,
          topics: [TOPICS.clips],
          handleBatch: async (batch) => {
            const { rows, deadLetters } = clipRows(batch);
            await insertRows(analytics, { table: 'clips', rows, dedupToken: batchDedupToken(batch) });
            if (deadLetters.length > 0) await publishDeadLetters(bus, deadLetters);
          },
          dependencyCheck: () => analytics.ping(),
        }),
      );
    } catch (error) {
      await stopAll();
      throw error;
    }
    runner.start();
    logger.info(
      { workerId, concurrency: settings.concurrency, profileVersion: version, putMetadata: settings.putMetadata },
      'clip worker started',
    );

    return {
      readiness: [{ name: 'ffmpeg', check: async () => void (await ffmpeg.version()) }],
      async stop() {
        // Hand the running jobs back first (killing ffmpeg; leaving a consumer group can take seconds), then stop consuming.
        await runner.stop();
        await stopAll();
        await timedMetadata?.flush();
        ivs?.close();
      },
    };
  },
};
