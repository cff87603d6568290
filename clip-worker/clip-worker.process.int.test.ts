import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { createBus } from '../core/bus/create-bus.ts';
import type { Bus } from '../core/bus/bus.ts';
import { loadConfig } from '../core/config.ts';
import { S3ObjectStore } from '../core/object-store/s3-object-store.ts';
import type { Highlight } from '../core/schemas/highlight.ts';
import type { StreamLifecycleEvent } from '../core/schemas/stream-lifecycle.ts';
import { allTopicSpecs, TOPICS } from '../core/topics.ts';
import { testServices } from '../test/services.ts';
import { waitFor } from '../test/wait-for.ts';
import { clipId, clipKeys, type ClipJobRecord, type ClipManifest } from '../core/clips/clip-records.ts';
import { clipProfileFromConfig, profileVersion } from '../core/clips/clip-profile.ts';
import { FfmpegRunner } from './ffmpeg/ffmpeg.ts';
import { runSyntheticStream, type SyntheticRecording } from '../tools/live-stream/synthetic-stream.ts';
import { distributedEnv, emptyStore, TEST_ACCOUNT, TEST_RENDITIONS } from './testing/clip-fixtures.ts';
import { mediaProblems } from './verify-clip.ts';

const execFileAsync = promisify(execFile);

/**
 * Clip workers as separate processes (`livepulse start clip-worker`) on the real services:
 * SIGTERM hands the running job back at once, SIGKILL leaves it to expire, and another worker
 * finishes it; there is one clip in the end, and it plays.
 */
interface Worker {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

describe('clip workers in separate processes', () => {
  const services = testServices();
  const run = randomUUID().slice(0, 8);
  const isolation = { topicPrefix: `clipproc-${run}.`, database: `clipproc_${run}`, s3Prefix: `clip-process-${run}` };
  // A vertical version big enough that its encode is still running when the test stops the worker.
  const env = distributedEnv(services, isolation, {
    LOG_LEVEL: 'info',
    CLIP_VERTICAL_SIZE: '720x1280',
    CLIP_X264_PRESET: 'veryfast',
    CLIP_LEASE_MS: '4000',
  });
  const config = loadConfig(env);
  const workers: Worker[] = [];
  /** Clip ids whose temporary directories a SIGKILLed worker may have left behind. */
  const clipIds: string[] = [];
  let bus: Bus;
  let store: S3ObjectStore;
  let analytics: AnalyticsStore;
  let redis: Redis;
  let recording: SyntheticRecording;
  let scratch: string;

  function startWorker(): Worker {
    const child = spawn(process.execPath, ['bin/livepulse.js', 'start', 'clip-worker'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const logs: Array<Record<string, unknown>> = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // The startup banner is not JSON.
        }
      }
    });
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const worker = { child, logs, exited };
    workers.push(worker);
    return worker;
  }

  /** Resolves once the worker reports ffmpeg progress on the clip's vertical version. */
  function encodingVertical(worker: Worker, id: string) {
    return waitFor(
      `a worker encoding the vertical version of ${id}`,
      () => worker.logs.some((l) => l.msg === 'clip job progress' && l.clipId === id && l.phase === 'full'),
      { timeoutMs: 120_000, intervalMs: 100 },
    );
  }

  async function processesMentioning(text: string): Promise<string[]> {
    const { stdout } = await execFileAsync('ps', ['-ww', '-eo', 'pid=,args=']);
    return stdout.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
  }

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'livepulse-clip-process-'));
    bus = createBus(config.bus, pino({ level: 'silent' }));
    await bus.ensureTopics(allTopicSpecs(2));
    analytics = await createAnalyticsStore(config.analyticsStore);
    redis = new Redis(services.redisUrl);
    store = new S3ObjectStore({
      bucket: services.s3.bucket,
      endpoint: services.s3.endpoint,
      region: services.s3.region,
      forcePathStyle: true,
      prefix: isolation.s3Prefix,
      credentials: { accessKeyId: services.s3.accessKeyId, secretAccessKey: services.s3.secretAccessKey },
    });
    recording = await runSyntheticStream({
      objectStore: store,
      ffmpeg: new FfmpegRunner(),
      accountId: TEST_ACCOUNT,
      channelId: 'ProcessTest',
      durationSeconds: 12,
      segmentSeconds: 4,
      renditions: TEST_RENDITIONS,
      realtime: false,
      startedAt: new Date(Date.now() - 120_000),
    });
    const lifecycle: StreamLifecycleEvent = {
      schema_v: 1,
      event_id: `${recording.streamId}-start`,
      channel_id: 'ProcessTest',
      stream_id: recording.streamId,
      kind: 'recording_start',
      occurred_at: recording.startedAt.getTime(),
      recording_prefix: recording.prefix,
    };
    await bus.publish(TOPICS.streamLifecycle, [{ key: 'ProcessTest', value: Buffer.from(JSON.stringify(lifecycle)) }]);
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null)
        process.kill(-worker.child.pid!, 'SIGKILL');
    }
    await analytics?.client.command({ query: `DROP DATABASE IF EXISTS ${isolation.database}` }).catch(() => undefined);
    await analytics?.close();
    await bus?.close();
    if (store) await emptyStore(store);
    await store?.close();
    redis?.disconnect();
    await rm(scratch, { recursive: true, force: true });
    for (const name of await readdir(tmpdir())) {
      if (clipIds.some((id) => name.startsWith(`livepulse-clip-${id}-`)))
        await rm(join(tmpdir(), name), { recursive: true, force: true });
    }
  });

  it('a SIGTERMed worker hands its job back, a SIGKILLed one loses it on lease expiry, and a third finishes one clip', async () => {
    const highlight: Highlight = {
      schema_v: 1,
      highlight_id: `hl_process_${run}`,
      stream_id: recording.streamId,
      start: recording.startedAt.getTime() + 2_000,
      end: recording.startedAt.getTime() + 10_000,
      score: 5,
      reasons: ['test'],
      detected_at: Date.now(),
    };
    const id = clipId({
      streamId: highlight.stream_id,
      startMs: highlight.start,
      endMs: highlight.end,
      profileVersion: profileVersion(clipProfileFromConfig(config.clips)),
    });
    clipIds.push(id);
    const leaseKey = `livepulse:kv:clip-job-lease:${id}`;

    // Worker A takes the highlight and is told to stop while it encodes.
    const a = startWorker();
    await bus.publish(TOPICS.highlights, [{ key: highlight.stream_id, value: Buffer.from(JSON.stringify(highlight)) }]);
    await encodingVertical(a, id);
    await waitFor("A's ffmpeg on the clip", async () => (await processesMentioning(id)).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    process.kill(a.child.pid!, 'SIGTERM');
    expect(await a.exited).toBe(0);
    // It killed its ffmpeg, released the lease and left the job queued, no attempt counted.
    expect(await processesMentioning(id)).toEqual([]);
    expect(await redis.get(leaseKey)).toBeNull();
    const record = JSON.parse((await store.get(clipKeys.job(id))).toString()) as ClipJobRecord;
    expect(record.attempts).toBe(0);
    const afterA = JSON.parse((await store.get(clipKeys.manifest(id))).toString()) as ClipManifest;
    expect(afterA.complete).toBe(false);

    // Worker B picks the job up from the queue and resumes at the vertical version; it dies with its ffmpeg.
    const b = startWorker();
    await encodingVertical(b, id);
    process.kill(-b.child.pid!, 'SIGKILL');
    await b.exited;
    // Nothing released B's lease: it holds until it expires.
    expect(await redis.get(leaseKey)).not.toBeNull();
    expect(await processesMentioning(id)).toEqual([]);

    // Worker C finds the job once B's lease has expired, and finishes it.
    const c = startWorker();
    await waitFor(
      'the clip to be complete',
      async () => {
        const raw = await store.get(clipKeys.manifest(id)).catch(() => null);
        return raw && (JSON.parse(raw.toString()) as ClipManifest).complete;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    await waitFor('the job record to go', async () => !(await store.head(clipKeys.job(id))), { timeoutMs: 10_000 });
    expect(
      c.logs.some((l) => l.msg === 'clip job attempt finished' && l.clipId === id && l.outcome === 'completed'),
    ).toBe(true);

    // One clip: the fast outputs of A were kept (B and C resumed), and everything plays.
    const manifest = JSON.parse((await store.get(clipKeys.manifest(id))).toString()) as ClipManifest;
    expect(manifest.created_at).toBe(afterA.created_at);
    expect(Object.keys(manifest.outputs).sort()).toEqual(['mp4', 'sprite', 'sprite_vtt', 'thumbnail', 'vertical']);
    const ffmpeg = new FfmpegRunner();
    for (const name of ['mp4', 'vertical'] as const) {
      const path = join(scratch, `${name}.mp4`);
      await writeFile(path, await store.get(clipKeys.output(id, name)));
      await ffmpeg.decodeCheck(path);
      expect(
        mediaProblems(await ffmpeg.probe(path), {
          durationMs: name === 'vertical' ? 8_000 : manifest.covered.end - manifest.covered.start,
          toleranceMs: 300,
          video: true,
          audio: true,
        }),
      ).toEqual([]);
    }
    const [row] = await waitFor(
      'the clip in ClickHouse',
      async () => {
        const result = await analytics.client.query({
          query: 'SELECT status, count() OVER () AS clips FROM clips FINAL WHERE clip_id = {id:String}',
          query_params: { id },
          format: 'JSONEachRow',
        });
        const rows = await result.json<{ status: string; clips: string }>();
        return rows[0]?.status === 'updated' ? rows : null;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(Number(row!.clips)).toBe(1);

    process.kill(c.child.pid!, 'SIGTERM');
    expect(await c.exited).toBe(0);
  }, 300_000);
});
