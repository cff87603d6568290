/**
 * bench:clips — from a highlight on the bus to the clip being available, for 30 s clips cut out
 * of a 720p30 IVS-layout recording in the S3-compatible server, through the real clip worker
 * (intake, job queue, ffmpeg, verification, uploads, manifest, `clips` event).
 *
 * Measured per highlight, one at a time: until the `created` event (the stream-copied clip and
 * its poster are uploaded and committed: target ≤ 3 s) and until `updated` (the vertical 720×1280
 * re-encode and the sprite: target ≥ 1× realtime, with ffmpeg's own speed figure).
 * Baseline, same run, same machine: bare ffmpeg on a local copy of the same media — a stream
 * copy of the same 30 s, and the same vertical encode — so the ratio shows what the worker adds
 * (fetching, loudness, verification, uploads) over ffmpeg alone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Histogram } from 'prom-client';
import { FfmpegRunner } from '../clip-worker/ffmpeg/ffmpeg.ts';
import { clipWorkerService } from '../clip-worker/service.ts';
import { DEMO_RENDITIONS, runSyntheticStream } from '../tools/live-stream/synthetic-stream.ts';
import { emptyStore } from '../clip-worker/testing/clip-fixtures.ts';
import { loadConfig } from '../core/config.ts';
import { parseMediaPlaylist } from '../core/ivs/hls-playlist.ts';
import { recordingKeys } from '../core/ivs/recording-layout.ts';
import { S3ObjectStore } from '../core/object-store/s3-object-store.ts';
import { startPlatform } from '../core/platform.ts';
import { clipEventValidator, type ClipEvent, type Highlight } from '../core/schemas/highlight.ts';
import type { StreamLifecycleEvent } from '../core/schemas/stream-lifecycle.ts';
import { TOPICS } from '../core/topics.ts';
import { startLocalServices } from '../infra/local/process-supervisor.ts';
import { percentile, recordBenchmark, round } from './harness.ts';

const CLIPS = Number(process.env.BENCH_CLIPS ?? 5);
const CLIP_MS = 30_000;
const RECORDING_SECONDS = 20 + CLIPS * 10 + 30;
const ACCOUNT = '123456789012';
const CHANNEL = 'BenchClips';

async function main(): Promise<void> {
  const services = await startLocalServices(['s3'], { log: (line) => process.stderr.write(`${line}\n`) });
  const s3 = services.endpoints.s3!;
  const run = randomUUID().slice(0, 8);
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-bench-clips-'));
  const env = {
    PORT: '0',
    LOG_LEVEL: 'silent',
    LIVEPULSE_DATA_DIR: dataDir,
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    S3_PREFIX: `bench-clips-${run}`,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    LIVEPULSE_WRITE_KEYS: 'bench:wk_bench_0123456789abcdef',
    LIVEPULSE_JWT_SECRET: 'b'.repeat(32),
    LIVEPULSE_IVS_WEBHOOK_SECRET: 'bench-ivs-secret-0123',
    CLIP_WORKER_CONCURRENCY: '1',
  };
  Object.assign(process.env, env);
  const config = loadConfig(env);
  const store = new S3ObjectStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    prefix: env.S3_PREFIX,
  });
  const ffmpeg = new FfmpegRunner();

  try {
    process.stderr.write(`encoding a ${RECORDING_SECONDS} s 720p30 + 360p30 recording…\n`);
    const recording = await runSyntheticStream({
      objectStore: store,
      ffmpeg,
      accountId: ACCOUNT,
      channelId: CHANNEL,
      durationSeconds: RECORDING_SECONDS,
      segmentSeconds: 10,
      renditions: DEMO_RENDITIONS,
      realtime: false,
      startedAt: new Date(Date.now() - 3_600_000),
    });

    const platform = await startPlatform(config, [clipWorkerService], pino({ level: 'silent' }));
    const { bus, analytics, metrics } = platform.context;
    const events: Array<ClipEvent & { receivedAt: number }> = [];
    const listener = await bus.subscribe({
      groupId: `bench-clips-${run}`,
      topics: [TOPICS.clips],
      startFrom: 'latest',
      handleBatch: (batch) => {
        for (const message of batch.messages) {
          const event = JSON.parse(message.value.toString()) as unknown;
          if (clipEventValidator.check(event)) events.push({ ...event, receivedAt: performance.now() });
        }
        return Promise.resolve();
      },
    });
    const lifecycle: StreamLifecycleEvent = {
      schema_v: 1,
      event_id: `bench-${run}`,
      channel_id: CHANNEL,
      stream_id: recording.streamId,
      kind: 'recording_start',
      occurred_at: recording.startedAt.getTime(),
      recording_prefix: recording.prefix,
    };
    await bus.publish(TOPICS.streamLifecycle, [{ key: CHANNEL, value: Buffer.from(JSON.stringify(lifecycle)) }]);
    for (;;) {
      const result = await analytics.client.query({
        query: 'SELECT count() AS n FROM recording_events WHERE stream_id = {s:String}',
        query_params: { s: recording.streamId },
        format: 'JSONEachRow',
      });
      if (Number((await result.json<{ n: string }>())[0]!.n) > 0) break;
      await sleep(100);
    }

    const created: number[] = [];
    const updated: number[] = [];
    for (let i = 0; i < CLIPS; i++) {
      // Windows start off the keyframe grid, as detected highlights do.
      const start = recording.startedAt.getTime() + 10_000 + i * 10_000 + 437;
      const highlight: Highlight = {
        schema_v: 1,
        highlight_id: `hl_bench_${run}_${i}`,
        stream_id: recording.streamId,
        start,
        end: start + CLIP_MS,
        score: 5,
        reasons: ['bench'],
        detected_at: Date.now(),
      };
      const sentAt = performance.now();
      await bus.publish(TOPICS.highlights, [
        { key: highlight.stream_id, value: Buffer.from(JSON.stringify(highlight)) },
      ]);
      const wait = async (status: ClipEvent['status']) => {
        for (;;) {
          const event = events.find((e) => e.highlight_id === highlight.highlight_id && e.status === status);
          if (event) return event;
          const failed = events.find((e) => e.highlight_id === highlight.highlight_id && e.status === 'failed');
          if (failed) throw new Error(`clip failed: ${failed.reason}`);
          await sleep(5);
        }
      };
      created.push((await wait('created')).receivedAt - sentAt);
      updated.push((await wait('updated')).receivedAt - sentAt);
      process.stderr.write(
        `clip ${i + 1}/${CLIPS}: created after ${Math.round(created.at(-1)!)} ms, complete after ${Math.round(updated.at(-1)!)} ms\n`,
      );
    }
    const speeds = metrics.registry.getSingleMetric('livepulse_clip_ffmpeg_speed_ratio') as Histogram<'phase'>;
    const speedValues = (await speeds.get()).values;
    const meanSpeed = (phase: string) => {
      const sum =
        speedValues.find((v) => v.metricName === 'livepulse_clip_ffmpeg_speed_ratio_sum' && v.labels.phase === phase)
          ?.value ?? NaN;
      const count =
        speedValues.find((v) => v.metricName === 'livepulse_clip_ffmpeg_speed_ratio_count' && v.labels.phase === phase)
          ?.value ?? NaN;
      return sum / count;
    };
    await listener.stop();
    await platform.stop();

    // Baseline: bare ffmpeg on a local copy of the same source rendition.
    const local = join(dataDir, 'source.ts');
    const playlist = parseMediaPlaylist(
      (await store.get(recordingKeys.renditionPlaylist(recording.prefix, '720p30'))).toString(),
    );
    const segments = await Promise.all(
      playlist.segments.map((s) => store.get(recordingKeys.media(recording.prefix, '720p30', s.uri))),
    );
    await writeFile(local, Buffer.concat(segments));
    const probe = await ffmpeg.probe(local);
    const bareCopy: number[] = [];
    const bareVertical: Array<{ wallMs: number; speed: number }> = [];
    for (let i = 0; i < CLIPS; i++) {
      const offset = ((10_000 + i * 10_000 + 437) / 1000).toFixed(3);
      const copy = await ffmpeg.run({
        label: 'bare copy',
        inputs: [{ path: local, options: ['-ss', offset] }],
        outputs: [
          { path: join(dataDir, 'copy.mp4'), options: ['-t', '30', '-c', 'copy', '-movflags', '+faststart', '-y'] },
        ],
      });
      bareCopy.push(copy.wallMs);
      const vertical = await ffmpeg.run({
        label: 'bare vertical',
        inputs: [{ path: local, options: ['-ss', offset] }],
        outputs: [
          {
            path: join(dataDir, 'vertical.mp4'),
            options: [
              '-t',
              '30',
              '-vf',
              'crop=trunc(ih*9/16/2)*2:ih,scale=720:1280',
              '-c:v',
              'libx264',
              '-preset',
              'veryfast',
              '-crf',
              '23',
              '-c:a',
              'aac',
              '-b:a',
              '128k',
              '-y',
            ],
          },
        ],
        expectedDurationMs: CLIP_MS,
      });
      bareVertical.push({ wallMs: vertical.wallMs, speed: vertical.speed ?? NaN });
    }

    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const createdSorted = sorted(created);
    const updatedSorted = sorted(updated);
    const copySorted = sorted(bareCopy);
    const verticalWallSorted = sorted(bareVertical.map((v) => v.wallMs));
    const fullPhaseMs = updated.map((u, i) => u - created[i]!);
    const verticalRealtime = CLIP_MS / percentile(sorted(fullPhaseMs), 50);
    const bareVerticalSpeed = bareVertical.reduce((sum, v) => sum + v.speed, 0) / bareVertical.length;
    await recordBenchmark({
      name: 'clips',
      command: 'npm run bench:clips',
      measured: {
        clips: CLIPS,
        clip_s: CLIP_MS / 1000,
        source: `${probe.streams.find((s) => s.codecType === 'video')!.height}p30`,
        created_p50_ms: round(percentile(createdSorted, 50)),
        created_max_ms: round(createdSorted.at(-1)!),
        complete_p50_ms: round(percentile(updatedSorted, 50)),
        vertical_ffmpeg_speed: round(meanSpeed('full')),
        vertical_realtime_factor: round(verticalRealtime),
        copy_ffmpeg_speed: round(meanSpeed('fast')),
      },
      baseline: {
        bare_copy_p50_ms: round(percentile(copySorted, 50)),
        bare_vertical_p50_ms: round(percentile(verticalWallSorted, 50)),
        bare_vertical_ffmpeg_speed: round(bareVerticalSpeed),
      },
      ratio: {
        created_vs_bare_copy: round(percentile(createdSorted, 50) / percentile(copySorted, 50)),
        vertical_speed_vs_bare: round(meanSpeed('full') / bareVerticalSpeed),
      },
      notes: 'targets: created ≤ 3000 ms; vertical ≥ 1× realtime',
    });
  } finally {
    await emptyStore(store);
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
    await services.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
