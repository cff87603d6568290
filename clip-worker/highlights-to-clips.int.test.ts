import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { mintApiToken } from '../core/http/api-auth.ts';
import { IvsControlPlane } from '../core/ivs/ivs-control-plane.ts';
import { parseChannelArn } from '../core/ivs/recording-layout.ts';
import { S3ObjectStore } from '../core/object-store/s3-object-store.ts';
import { startPlatform, type RunningPlatform } from '../core/platform.ts';
import type { ChatMessage } from '../core/schemas/chat.ts';
import type { StreamLifecycleEvent } from '../core/schemas/stream-lifecycle.ts';
import { TOPICS } from '../core/topics.ts';
import { highlightDetectorService } from '../stream-processors/highlights/service.ts';
import { startIvsTestServer, type IvsTestServer } from '../test/fixtures/ivs-test-server.ts';
import { testServices } from '../test/services.ts';
import { waitFor } from '../test/wait-for.ts';
import type { ClipManifest } from '../core/clips/clip-records.ts';
import { FfmpegRunner } from './ffmpeg/ffmpeg.ts';
import { clipWorkerService } from './service.ts';
import { runSyntheticStream, type SyntheticRecording } from '../tools/live-stream/synthetic-stream.ts';
import { distributedEnv, emptyStore, TEST_RENDITIONS } from './testing/clip-fixtures.ts';
import { mediaProblems } from './verify-clip.ts';

/**
 * The whole of highlights-to-clips on the distributed adapters: chat on Kafka spikes, the
 * detector publishes a highlight, the clip worker finds the IVS recording through the recording
 * index (ClickHouse, from stream.lifecycle), cuts it with ffmpeg out of S3, marks the moment in
 * the live stream through the IVS API (the test double), and the clip lands in ClickHouse.
 */
describe('highlights to clips on Kafka, Redis, S3, ClickHouse and IVS', () => {
  const services = testServices();
  const run = randomUUID().slice(0, 8);
  const isolation = { topicPrefix: `clips-${run}.`, database: `clips_${run}`, s3Prefix: `clips-e2e-${run}` };
  const ffmpeg = new FfmpegRunner();
  let ivs: IvsTestServer;
  let platform: RunningPlatform;
  let store: S3ObjectStore;
  let recording: SyntheticRecording;
  let scratch: string;
  let channelArn: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'livepulse-e2e-clips-'));
    ivs = await startIvsTestServer();
    const env = distributedEnv(services, isolation, {
      IVS_ENDPOINT: ivs.url,
      IVS_REGION: ivs.region,
      CLIP_PUT_METADATA: 'true',
    });
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    // The channel exists in IVS and is live, so the clip worker can mark the moment in it.
    const control = new IvsControlPlane({ region: ivs.region, endpoint: ivs.url });
    const configuration = await control.createRecordingConfiguration(
      { name: 'e2e', bucketName: services.s3.bucket },
      { pollMs: 50 },
    );
    const { channel } = await control.createChannel({ name: 'e2e', recordingConfigurationArn: configuration.arn! });
    control.close();
    channelArn = channel.arn!;
    const streamId = ivs.startStream(channelArn);

    store = new S3ObjectStore({
      bucket: services.s3.bucket,
      endpoint: services.s3.endpoint,
      region: services.s3.region,
      forcePathStyle: true,
      prefix: isolation.s3Prefix,
    });
    // 30 s recorded five minutes ago, starting on a 5 s boundary so the spike below lines up with a chat bucket.
    const startedAt = new Date(Math.floor((Date.now() - 300_000) / 5_000) * 5_000);
    recording = await runSyntheticStream({
      objectStore: store,
      ffmpeg,
      accountId: parseChannelArn(channelArn)!.accountId,
      channelId: parseChannelArn(channelArn)!.channelId,
      streamId,
      startedAt,
      durationSeconds: 30,
      segmentSeconds: 4,
      renditions: TEST_RENDITIONS,
      realtime: false,
    });
    platform = await startPlatform(
      loadConfig(env),
      [highlightDetectorService, clipWorkerService],
      pino({ level: 'silent' }),
    );
  }, 180_000);

  afterAll(async () => {
    await platform?.context.analytics.client
      .command({ query: `DROP DATABASE IF EXISTS ${isolation.database}` })
      .catch(() => undefined);
    await platform?.stop();
    if (store) await emptyStore(store);
    await store?.close();
    await ivs?.close();
    vi.unstubAllEnvs();
    await rm(scratch, { recursive: true, force: true });
  });

  async function select<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const result = await platform.context.analytics.client.query({
      query,
      query_params: params,
      format: 'JSONEachRow',
    });
    return result.json<T>();
  }

  it('turns a chat spike into a highlight and the highlight into a verified clip, marked in the live stream', async () => {
    const { bus } = platform.context;
    const { channelId } = parseChannelArn(channelArn)!;
    const lifecycle = (kind: StreamLifecycleEvent['kind'], at: number): StreamLifecycleEvent => ({
      schema_v: 1,
      event_id: `${recording.streamId}-${kind}`,
      channel_id: channelId,
      stream_id: recording.streamId,
      kind,
      occurred_at: at,
      recording_prefix: `${recording.prefix}/`,
      recording_bucket: services.s3.bucket,
    });
    await bus.publish(TOPICS.streamLifecycle, [
      {
        key: channelId,
        value: Buffer.from(JSON.stringify(lifecycle('recording_start', recording.startedAt.getTime()))),
      },
      { key: channelId, value: Buffer.from(JSON.stringify(lifecycle('recording_end', recording.endedAt.getTime()))) },
    ]);
    await waitFor(
      'the recording to be indexed',
      async () =>
        (await select('SELECT 1 FROM recording_events WHERE stream_id = {s:String}', { s: recording.streamId }))
          .length === 2,
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    // Two minutes of calm chat, a burst 20 s into the recording, then a little more chat.
    const T = recording.startedAt.getTime();
    const onset = T + 20_000;
    const messages: ChatMessage[] = [];
    const chat = (sentAt: number, user: string, text: string) =>
      messages.push({
        schema_v: 1,
        message_id: `m${messages.length}`,
        stream_id: recording.streamId,
        user_id: user,
        display_name: user,
        text,
        sent_at: sentAt,
        heuristic_decision: 'allow',
        flags: [],
      });
    for (let t = onset - 120_000; t < onset; t += 625) chat(t, `viewer${(t / 625) % 7}`, 'hello there');
    for (let i = 0; i < 60; i++) chat(onset + i * 80, `fan${i % 35}`, i % 3 ? 'CLIP IT' : 'NO WAY PogChamp');
    chat(onset + 9_000, 'viewer1', 'what just happened');
    await bus.publish(
      TOPICS.chatMessages,
      messages.map((m) => ({ key: m.stream_id, value: Buffer.from(JSON.stringify(m)) })),
    );

    const [highlight] = await waitFor(
      'the highlight in ClickHouse',
      async () => {
        const rows = await select<{ highlight_id: string; start: number; end: number; reasons: string[] }>(
          'SELECT highlight_id, toUnixTimestamp64Milli(window_start) AS start, toUnixTimestamp64Milli(window_end) AS end, reasons FROM highlights FINAL WHERE stream_id = {s:String}',
          { s: recording.streamId },
        );
        return rows.length > 0 ? rows : null;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(Number(highlight!.start)).toBe(onset - 20_000);
    expect(Number(highlight!.end)).toBe(onset + 10_000);
    expect(highlight!.reasons[0]).toMatch(/^chat_spike/);

    const [clip] = await waitFor(
      'the finished clip in ClickHouse',
      async () => {
        const rows = await select<{ clip_id: string; status: string; outputs: Record<string, string> }>(
          "SELECT clip_id, status, outputs FROM clips FINAL WHERE stream_id = {s:String} AND status = 'updated'",
          { s: recording.streamId },
        );
        return rows.length > 0 ? rows : null;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(Object.keys(clip!.outputs).sort()).toEqual([
      'manifest',
      'mp4',
      'sprite',
      'sprite_vtt',
      'thumbnail',
      'vertical',
    ]);

    // The status is the clip's stream's: a token is needed, and the stream registry decides (unregistered here: admins only).
    expect((await fetch(`${platform.url}/v1/clips/${clip!.clip_id}`)).status).toBe(401);
    const analyst = await mintApiToken({
      secret: platform.context.config.auth.jwtSecret!,
      sub: 'analyst-1',
      role: 'analyst',
      ttlSeconds: 300,
    });
    expect(
      (await fetch(`${platform.url}/v1/clips/${clip!.clip_id}`, { headers: { authorization: `Bearer ${analyst}` } }))
        .status,
    ).toBe(403);
    const admin = await mintApiToken({
      secret: platform.context.config.auth.jwtSecret!,
      sub: 'admin-1',
      role: 'admin',
      ttlSeconds: 300,
    });
    const status = await fetch(`${platform.url}/v1/clips/${clip!.clip_id}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(status.status).toBe(200);
    const body = (await status.json()) as { manifest: ClipManifest; status: { state: string } };
    expect(body.manifest).toMatchObject({
      complete: true,
      highlight_id: highlight!.highlight_id,
      recording: { prefix: recording.prefix },
    });
    expect(body.status.state).toBe('completed');

    for (const [name, expectation] of [
      [
        'mp4',
        {
          durationMs: body.manifest.covered.end - body.manifest.covered.start,
          toleranceMs: 300,
          video: true,
          audio: true,
          width: 320,
          height: 180,
        },
      ],
      ['vertical', { durationMs: 30_000, toleranceMs: 100, video: true, audio: true, width: 180, height: 320 }],
    ] as const) {
      const path = join(scratch, `${name}.mp4`);
      await writeFile(path, await store.get(clip!.outputs[name]!));
      await ffmpeg.decodeCheck(path);
      expect(mediaProblems(await ffmpeg.probe(path), expectation)).toEqual([]);
    }

    await waitFor(
      'the clip marker in the live stream',
      () => ivs.metadata.some((m) => m.channelArn === channelArn && m.metadata.includes(clip!.clip_id)),
      { timeoutMs: 10_000 },
    );
    const marker = JSON.parse(ivs.metadata.find((m) => m.metadata.includes(clip!.clip_id))!.metadata) as Array<
      Record<string, unknown>
    >;
    expect(marker).toEqual([
      {
        type: 'livepulse.clip',
        clip_id: clip!.clip_id,
        start: body.manifest.covered.start,
        end: body.manifest.covered.end,
      },
    ]);
  });
});
