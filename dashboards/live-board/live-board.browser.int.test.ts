import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipId as deterministicClipId, clipKeys, type ClipManifest } from '../../core/clips/clip-records.ts';
import { loadConfig } from '../../core/config.ts';
import { mintApiToken } from '../../core/http/api-auth.ts';
import { startPlatform, type RunningPlatform } from '../../core/platform.ts';
import type { ChatMessage, ChatVerdict } from '../../core/schemas/chat.ts';
import type { ClipEvent, Highlight } from '../../core/schemas/highlight.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { TOPICS } from '../../core/topics.ts';
import { ingestApiService } from '../../ingest-api/service.ts';
import { computeGroundTruth, type GroundTruth } from '../../tools/simulator/ground-truth.ts';
import { playSimulation, type PlayReport } from '../../tools/simulator/traffic-player.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { viewerAnalyticsService } from '../../stream-processors/viewer-analytics/service.ts';
import { waitFor } from '../../test/wait-for.ts';
import type { LiveStreamView } from './live-stream-view.ts';
import { liveBoardService } from './service.ts';
import { decodePng, pixelStatistics } from './testing/png-pixels.ts';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The embedded default with the collector, the viewer-analytics processor and the live board:
 * simulated viewers play against the collector in real time while the test puts chat, verdicts,
 * a highlight and a clip (real ffmpeg files) on the bus; headless Chromium opens `/live` and the
 * numbers on the page must be the ones fed, change as more arrives, and end equal to the
 * simulator's ground truth.
 */
describe('live board in headless Chromium, embedded', () => {
  let dataDir: string;
  let platform: RunningPlatform;
  let browser: Browser;
  let adminToken: string;
  let simulation: Promise<PlayReport>;
  let truth: GroundTruth;
  let streamId: string;
  let creatorId: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-live-board-'));
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      LIVEPULSE_DATA_DIR: dataDir,
      // Short timeouts, so every view ends and every window is final soon after the simulation.
      ANALYTICS_ALLOWED_LATENESS_MS: '2000',
      ANALYTICS_VIEW_INACTIVE_MS: '6000',
      ANALYTICS_VIEW_END_SILENCE_MS: '8000',
      ANALYTICS_PAUSED_VIEW_END_MS: '10000',
      ANALYTICS_MAX_REBUFFER_MS: '10000',
      ANALYTICS_EMIT_INTERVAL_MS: '500',
      ANALYTICS_IDLE_ADVANCE_MS: '500',
    });
    platform = await startPlatform(
      config,
      [ingestApiService, viewerAnalyticsService, liveBoardService],
      pino({ level: 'silent' }),
    );
    adminToken = await mintApiToken({ secret: config.auth.jwtSecret!, sub: 'admin-1', role: 'admin', ttlSeconds: 600 });

    const plan = planSimulation({
      viewers: 30,
      durationMs: 35_000,
      streams: 2,
      seed: 11,
      heartbeatMs: 2_000,
      maxRebufferMs: config.analytics.maxRebufferMs,
      scenarioWeights: { paused_leave: 0, watch_with_pauses: 0 },
    });
    truth = computeGroundTruth(plan, config.analytics);
    // The busiest stream is the one the page is checked on.
    [streamId] = Object.entries(truth.streams)
      .sort((a, b) => b[1].totals.views - a[1].totals.views)
      .map(([id]) => id) as [string];
    creatorId = truth.streams[streamId]!.creator_id;
    // The creators register their streams: the board shows a creator what the registry gives it.
    const registry = new StreamRegistry(platform.context.analytics, platform.context.liveState);
    for (const [id, stream] of Object.entries(truth.streams)) {
      await registry.register({
        source: 'api',
        streamId: id,
        creatorId: stream.creator_id,
        identity: { userId: stream.creator_id, role: 'creator', creatorId: stream.creator_id },
        reassign: false,
      });
    }
    simulation = playSimulation(plan, {
      collectorUrl: platform.url,
      writeKey: config.auth.writeKeys[0]!.key,
      flushIntervalMs: 1_000,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await simulation?.catch(() => undefined);
    await browser?.close();
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const live = async (id: string, token = adminToken) => {
    const response = await fetch(`${platform.url}/v1/streams/${encodeURIComponent(id)}/live`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as LiveStreamView & { error?: string } };
  };
  const publish = (topic: string, values: Array<{ stream_id: string }>) =>
    platform.context.bus.publish(
      topic,
      values.map((value) => ({ key: value.stream_id, value: Buffer.from(JSON.stringify(value)) })),
    );
  const chat = (count: number, from: number, decision: ChatMessage['heuristic_decision'] = 'allow'): ChatMessage[] =>
    Array.from({ length: count }, (_, i) => ({
      schema_v: 1,
      message_id: `msg-${from + i}`,
      stream_id: streamId,
      user_id: `viewer-${i % 4}`,
      display_name: 'Viewer',
      text: `hello ${from + i}`,
      sent_at: Date.now(),
      heuristic_decision: decision,
      flags: [],
    }));
  const row = (page: Page, className: string) =>
    page.locator(`#streams tr[data-stream-id="${streamId}"] td.${className}`);

  it('shows what was fed, updates as more arrives, and ends equal to the ground truth', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    await page.goto(`${platform.url}/live?token=${adminToken}`);
    // The token moves to sessionStorage and out of the address bar.
    await waitFor('the token to leave the URL', () => !page.url().includes('token='));

    // Viewers: the page shows the same count as the API, once the simulated audience is there.
    await waitFor(
      'the page to show the live viewer count of the API',
      async () => {
        const shown = Number(
          ((await row(page, 'viewers-current').textContent({ timeout: 500 })) ?? '').replaceAll(',', ''),
        );
        const { body } = await live(streamId);
        return shown > 0 && shown === body.viewers.current;
      },
      { timeoutMs: 40_000, intervalMs: 250 },
    );
    expect(await row(page, 'creator').textContent()).toBe(creatorId);

    // Chat: 12 messages now (one blocked inline), then 5 more.
    await publish(TOPICS.chatMessages, [...chat(11, 0), ...chat(1, 11, 'block')]);
    await waitFor('12 chat messages on the page', async () => (await row(page, 'chat-total').textContent()) === '12', {
      timeoutMs: 10_000,
    });
    expect(await row(page, 'chat-rate-60s').textContent()).toBe('12');
    await publish(TOPICS.chatMessages, chat(5, 100));
    await waitFor('17 chat messages on the page', async () => (await row(page, 'chat-total').textContent()) === '17', {
      timeoutMs: 10_000,
    });

    // Moderation: two removals and a ban, plus the inline block.
    const verdicts: ChatVerdict[] = (['remove', 'remove', 'ban'] as const).map((action, i) => ({
      schema_v: 1,
      verdict_id: `verdict-${i}`,
      stream_id: streamId,
      source: 'moderator',
      action,
      reason: 'test',
      flags: [],
      decided_at: Date.now(),
    }));
    await publish(TOPICS.chatVerdicts, verdicts);
    await waitFor(
      '4 moderation actions on the page',
      async () => (await row(page, 'moderation-total').textContent()) === '4',
      { timeoutMs: 10_000 },
    );

    // A highlight, and a clip of it made of real media.
    const now = Date.now();
    const highlight: Highlight = {
      schema_v: 1,
      highlight_id: 'hl-live-board',
      stream_id: streamId,
      start: now - 12_000,
      end: now - 2_000,
      score: 5.5,
      reasons: ['chat_spike:z=5.5'],
      detected_at: now,
    };
    await publish(TOPICS.highlights, [highlight]);
    const clip = await putClip(highlight);
    await publish(TOPICS.clips, [clip.event]);
    await waitFor(
      'the highlight on the page',
      async () => (await page.locator('#highlights li[data-highlight-id="hl-live-board"]').count()) === 1,
      { timeoutMs: 10_000 },
    );
    expect(await row(page, 'highlights-active').textContent()).toBe('1');
    const thumbnail = page.locator(`.clip[data-clip-id="${clip.id}"] img`);
    await waitFor(
      'the clip thumbnail to load',
      async () =>
        (await thumbnail.evaluate(
          (img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth,
        )) === 320,
      { timeoutMs: 10_000 },
    );

    // A click plays the clip: the browser reads it through byte ranges.
    await page.locator(`.clip[data-clip-id="${clip.id}"]`).click();
    const played = await waitFor(
      'the clip to play',
      () =>
        page
          .locator('#player-video')
          .evaluate((video: { error: { code: number } | null; readyState: number; duration: number }) =>
            video.error ? `error ${video.error.code}` : video.readyState >= 2 ? { duration: video.duration } : null,
          ),
      { timeoutMs: 15_000 },
    );
    expect(played).toEqual({ duration: expect.closeTo(2, 0) as unknown });
    await page.keyboard.press('Escape');

    // The page updates at least once a second.
    const stamps = new Set<string>();
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      stamps.add((await page.locator('#updated-at').getAttribute('data-at')) ?? '');
      await sleep(200);
    }
    expect(stamps.size).toBeGreaterThanOrEqual(3);

    const screenshot = await page.screenshot({ fullPage: true });
    const stats = pixelStatistics(decodePng(screenshot));
    expect(stats.distinctColors).toBeGreaterThan(200);
    expect(stats.lumaVariance).toBeGreaterThan(100);
    // Three uPlot charts drew on canvases.
    expect(await page.locator('.chart canvas').count()).toBe(3);

    // Once every view ended and every window is final, the viewer series equals the ground truth.
    const report = await simulation;
    expect(report.rejected).toEqual([]);
    await sleep(Math.max(0, truth.last_view_end + 12_000 - Date.now()));
    const expected = new Map(
      truth.streams[streamId]!.windows.filter((w) => w.dimension === 'all').map((w) => [
        w.window_start,
        w.concurrent_views,
      ]),
    );
    const series = await waitFor(
      'the final viewer windows',
      async () => {
        const { body } = await live(streamId);
        const got = body.viewers.series;
        const matches = got.length > 0 && got.every((w) => w.concurrent === (expected.get(w.window_start) ?? 0));
        return matches ? got : null;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    for (const [start, concurrent] of expected)
      if (start >= series[0]!.window_start)
        expect(series.find((w) => w.window_start === start)?.concurrent).toBe(concurrent);
    expect(Math.max(...series.map((w) => w.concurrent))).toBeGreaterThan(0);
    const last = series.at(-1)!.concurrent;
    await waitFor(
      'the page to show the final count',
      async () => Number((await row(page, 'viewers-current').textContent()) ?? '') === last,
      { timeoutMs: 5_000 },
    );
    await page.close();
  }, 180_000);

  it('answers 401 without a valid token and 403 to another creator, on every endpoint', async () => {
    const { objectStore, config } = platform.context;
    const secret = config.auth.jwtSecret!;
    const own = await mintApiToken({ secret, sub: 'creator-1', role: 'creator', creatorId, ttlSeconds: 600 });
    const other = await mintApiToken({
      secret,
      sub: 'creator-2',
      role: 'creator',
      creatorId: 'someone-else',
      ttlSeconds: 600,
    });
    const expired = await mintApiToken({
      secret,
      sub: 'admin-1',
      role: 'admin',
      ttlSeconds: 60,
      issuedAt: Math.floor(Date.now() / 1000) - 3_600,
    });
    const forged = await mintApiToken({ secret: 'x'.repeat(40), sub: 'admin-1', role: 'admin', ttlSeconds: 600 });
    const clip = await putClip({
      schema_v: 1,
      highlight_id: 'hl-auth',
      stream_id: streamId,
      start: Date.now() - 10_000,
      end: Date.now(),
      score: 0,
      reasons: [],
      detected_at: Date.now(),
    });
    const paths = [
      `/v1/streams/${streamId}/live`,
      '/v1/live/overview',
      '/v1/live/events',
      `/v1/clips/${clip.id}/files/thumbnail`,
    ];

    const statusOf = async (path: string, token?: string) => {
      const controller = new AbortController();
      const response = await fetch(`${platform.url}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: controller.signal,
      });
      controller.abort();
      return response.status;
    };
    for (const path of paths) {
      expect([path, await statusOf(path)]).toEqual([path, 401]);
      expect([path, await statusOf(path, expired)]).toEqual([path, 401]);
      expect([path, await statusOf(path, forged)]).toEqual([path, 401]);
      expect([path, await statusOf(path, own)]).toEqual([path, 200]);
    }
    expect(await statusOf(`/v1/streams/${streamId}/live`, other)).toBe(403);
    expect(await statusOf(`/v1/clips/${clip.id}/files/mp4`, other)).toBe(403);
    expect(await statusOf(`/v1/streams/no-such-stream/live`, adminToken)).toBe(404);
    expect(await statusOf(`/v1/clips/${clip.id}/files/vertical`, adminToken)).toBe(404);
    // `?token=` works where a browser cannot set headers.
    expect((await fetch(`${platform.url}/v1/live/overview?token=${own}`)).status).toBe(200);

    // Another creator's overview leaves this stream out.
    const overview = (await (
      await fetch(`${platform.url}/v1/live/overview`, { headers: { authorization: `Bearer ${other}` } })
    ).json()) as { streams: unknown[] };
    expect(overview.streams).toEqual([]);

    // Byte ranges of the mp4 are the object's bytes.
    const whole = await objectStore.get(clip.manifest.outputs.mp4!.key);
    const ranged = await fetch(`${platform.url}/v1/clips/${clip.id}/files/mp4`, {
      headers: { authorization: `Bearer ${own}`, range: 'bytes=100-1099' },
    });
    expect([ranged.status, ranged.headers.get('content-range'), ranged.headers.get('content-type')]).toEqual([
      206,
      `bytes 100-1099/${whole.length}`,
      'video/mp4',
    ]);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(whole.subarray(100, 1100))).toBe(true);
    const beyond = await fetch(`${platform.url}/v1/clips/${clip.id}/files/mp4`, {
      headers: { authorization: `Bearer ${own}`, range: `bytes=${whole.length}-` },
    });
    expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, `bytes */${whole.length}`]);
  });

  it('streams overview events to a creator, and ends open event streams when the server stops', async () => {
    const own = await mintApiToken({
      secret: platform.context.config.auth.jwtSecret!,
      sub: 'creator-1',
      role: 'creator',
      creatorId,
      ttlSeconds: 600,
    });
    const response = await fetch(`${platform.url}/v1/live/events?token=${own}`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    let received = '';
    const overviews = () =>
      [...received.matchAll(/event: overview\ndata: (.*)\n\n/g)].map(
        (m) => JSON.parse(m[1]!) as { streams: LiveStreamView[] },
      );
    while (overviews().length < 2)
      received += new TextDecoder().decode((await reader.read()).value as Uint8Array | undefined);
    const streams = overviews()[1]!.streams;
    expect(streams.map((s) => s.stream_id)).toContain(streamId);
    expect(new Set(streams.map((s) => s.creator_id))).toEqual(new Set([creatorId]));

    // Stopping must not wait for the board to disconnect.
    await platform.stop();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
  });

  /** A clip as the clip worker leaves it: mp4 and poster in the object store, the manifest, the event. */
  async function putClip(highlight: Highlight): Promise<{ id: string; manifest: ClipManifest; event: ClipEvent }> {
    const { objectStore } = platform.context;
    const id = deterministicClipId({
      streamId: highlight.stream_id,
      startMs: highlight.start,
      endMs: highlight.end,
      profileVersion: 'test',
    });
    const mp4 = join(dataDir, `${id}.mp4`);
    const poster = join(dataDir, `${id}.jpg`);
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x180:rate=25',
      '-t',
      '2',
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-movflags',
      '+faststart',
      mp4,
    ]);
    await run('ffmpeg', ['-v', 'error', '-y', '-i', mp4, '-frames:v', '1', poster]);
    const [video, image] = [await readFile(mp4), await readFile(poster)];
    await objectStore.put(clipKeys.output(id, 'mp4'), video, { contentType: 'video/mp4' });
    await objectStore.put(clipKeys.output(id, 'thumbnail'), image, { contentType: 'image/jpeg' });
    const at = Date.now();
    const manifest: ClipManifest = {
      schema_v: 1,
      clip_id: id,
      highlight_id: highlight.highlight_id,
      stream_id: highlight.stream_id,
      profile_version: 'test',
      requested: { start: highlight.start, end: highlight.end },
      covered: { start: highlight.start, end: highlight.start + 2_000 },
      recording: { prefix: 'recordings/test', rendition: '160p30', byte_range_playlist: false },
      cut: { mode: 'reencode', early_start_ms: 0 },
      outputs: {
        mp4: {
          key: clipKeys.output(id, 'mp4'),
          content_type: 'video/mp4',
          bytes: video.length,
          duration_ms: 2_000,
          width: 320,
          height: 180,
        },
        thumbnail: {
          key: clipKeys.output(id, 'thumbnail'),
          content_type: 'image/jpeg',
          bytes: image.length,
          width: 320,
          height: 180,
        },
      },
      complete: false,
      created_at: at,
      updated_at: at,
    };
    await objectStore.put(clipKeys.manifest(id), JSON.stringify(manifest), { contentType: 'application/json' });
    const event: ClipEvent = {
      schema_v: 1,
      clip_id: id,
      highlight_id: highlight.highlight_id,
      stream_id: highlight.stream_id,
      status: 'created',
      start: manifest.covered.start,
      end: manifest.covered.end,
      outputs: {
        mp4: manifest.outputs.mp4!.key,
        thumbnail: manifest.outputs.thumbnail!.key,
        manifest: clipKeys.manifest(id),
      },
      duration_ms: 2_000,
      finished_at: at,
    };
    return { id, manifest, event };
  }
});
