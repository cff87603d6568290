import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { mintApiToken } from '../core/http/api-auth.ts';
import { ivsEventBridgeEvent, type IvsBroadcast } from '../core/ivs/eventbridge-events.ts';
import { startPlatform, type RunningPlatform } from '../core/platform.ts';
import { IVS_SECRET_HEADER } from '../ingest-api/ivs/ivs-route.ts';
import { ingestApiService } from '../ingest-api/service.ts';
import { highlightDetectorService } from '../stream-processors/highlights/service.ts';
import { waitFor } from '../test/wait-for.ts';
import type { ClipManifest } from '../core/clips/clip-records.ts';
import { FfmpegRunner } from './ffmpeg/ffmpeg.ts';
import { clipWorkerService } from './service.ts';
import { runSyntheticStream, type SyntheticBroadcast } from '../tools/live-stream/synthetic-stream.ts';
import { TEST_ACCOUNT, TEST_RENDITIONS } from './testing/clip-fixtures.ts';
import { mediaProblems } from './verify-clip.ts';

/**
 * The embedded default (`npm start`: one process, chDB, a local directory, the in-process bus):
 * a live broadcast's IVS events go through the collector, a host asks for "clip that" while it
 * is live, and the clip worker waits for the recording to catch up, then makes the clip.
 */
describe('"clip that" on a live broadcast, embedded', () => {
  let dataDir: string;
  let platform: RunningPlatform;
  const config = () =>
    loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      LIVEPULSE_DATA_DIR: dataDir,
      CLIP_VERTICAL_SIZE: '180x320',
      CLIP_X264_PRESET: 'ultrafast',
      CLIP_SCAN_INTERVAL_MS: '500',
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-embedded-clips-'));
    platform = await startPlatform(
      config(),
      [ingestApiService, highlightDetectorService, clipWorkerService],
      pino({ level: 'silent' }),
    );
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('makes the clip a host asked for while the stream was live', async () => {
    const { objectStore, config: running } = platform.context;
    const ffmpeg = new FfmpegRunner();
    const post = async (broadcast: SyntheticBroadcast, transitions: Parameters<typeof ivsEventBridgeEvent>[1][]) => {
      const b: IvsBroadcast = {
        region: broadcast.region,
        accountId: broadcast.accountId,
        channelId: broadcast.channelId,
        channelName: 'embedded',
        streamId: broadcast.streamId,
        recordingPrefix: broadcast.prefix,
        recordingSessionId: broadcast.recordingId,
        bucket: 'local',
      };
      const response = await fetch(`${platform.url}/v1/ivs/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IVS_SECRET_HEADER]: running.auth.ivsWebhookSecret },
        body: JSON.stringify(transitions.map((t) => ivsEventBridgeEvent(b, t, new Date()))),
      });
      expect(response.status).toBe(202);
    };
    let started!: (broadcast: SyntheticBroadcast) => void;
    const live = new Promise<SyntheticBroadcast>((resolve) => (started = resolve));
    const broadcast = runSyntheticStream({
      objectStore,
      ffmpeg,
      accountId: TEST_ACCOUNT,
      channelId: 'EmbeddedClip',
      durationSeconds: 12,
      segmentSeconds: 2,
      renditions: TEST_RENDITIONS,
      realtime: true,
      onEvent: async (event) => {
        if (event.kind === 'recording_start') {
          await post(event.broadcast, ['Stream Start', 'Recording Start']);
          started(event.broadcast);
        }
        if (event.kind === 'recording_end') await post(event.broadcast, ['Recording End', 'Stream End']);
      },
    });
    const { streamId, startedAt } = await live;

    // Eight seconds in, the host asks for the last six seconds and two more.
    await sleep(Math.max(0, startedAt.getTime() + 8_000 - Date.now()));
    const token = await new SignJWT({ roles: { [streamId]: 'host' }, name: 'Host' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('host-1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(running.auth.jwtSecret));
    const request = await fetch(`${platform.url}/v1/streams/${streamId}/clips`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seconds_before: 6, seconds_after: 2 }),
    });
    expect(request.status).toBe(202);
    const { clip_id: clipId, status_url: statusUrl } = (await request.json()) as {
      clip_id: string;
      status_url: string;
    };

    // The clip's status is behind an API token, like every read (an admin's: the stream is unregistered).
    const adminToken = await mintApiToken({
      secret: running.auth.jwtSecret!,
      sub: 'admin-1',
      role: 'admin',
      ttlSeconds: 600,
    });
    const manifest = await waitFor(
      'the clip to be complete',
      async () => {
        const response = await fetch(`${platform.url}${statusUrl}`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        if (response.status !== 200) return null;
        const body = (await response.json()) as { manifest: ClipManifest | null };
        return body.manifest?.complete ? body.manifest : null;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(manifest).toMatchObject({ clip_id: clipId, stream_id: streamId });
    expect(manifest.requested.end - manifest.requested.start).toBe(8_000);
    const path = join(dataDir, 'vertical.mp4');
    await writeFile(path, await objectStore.get(manifest.outputs.vertical!.key));
    await ffmpeg.decodeCheck(path);
    expect(
      mediaProblems(await ffmpeg.probe(path), {
        durationMs: 8_000,
        toleranceMs: 100,
        video: true,
        audio: true,
        width: 180,
        height: 320,
      }),
    ).toEqual([]);
    await broadcast;
  });
});
