import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../core/topics.ts';
import { waitFor } from '../../test/wait-for.ts';
import { startBrowserPlayback, writeTestHls, type BrowserPlayback } from '../testing/browser-playback.ts';
import { TEST_WRITE_KEY, type TestCollector } from '../testing/test-collector.ts';
import { buildSdk } from './build.ts';

/**
 * The SDK in a real browser: headless Chromium plays an HLS stream that ffmpeg made, through
 * hls.js, from a page on another origin than the collector. The SDK watches the <video> and
 * hls.js sends CMCD v2 event reports to the collector too, so both paths are checked against the
 * same playback.
 */
const CMCD_SESSION = 'cmcd-browser-session';

let workDir: string;
let playback: BrowserPlayback;
let pageOrigin: string;
let collector: TestCollector;
let collectorUrl: string;
let browser: Browser;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'livepulse-browser-'));
  // 10 s of 640x360 test pattern with a tone, in 2 s segments.
  await writeTestHls(workDir);
  await buildSdk(join(workDir, 'sdk'));

  playback = await startBrowserPlayback(workDir, pageHtml, {
    '/livepulse.js': join(workDir, 'sdk', 'livepulse.iife.js'),
  });
  ({ pageOrigin, collector, collectorUrl, browser } = playback);
}, 120_000);

afterAll(async () => {
  await playback?.close();
  await rm(workDir, { recursive: true, force: true });
});

function pageHtml(): string {
  return `<!doctype html><html><body>
<video id="video" muted playsinline width="960" height="540"></video>
<script src="/hls.js"></script>
<script src="/livepulse.js"></script>
<script>
  const video = document.getElementById('video');
  const collector = ${JSON.stringify(collectorUrl)};
  const watcher = Livepulse.watchVideo(video, {
    endpoint: collector, writeKey: ${JSON.stringify(TEST_WRITE_KEY)}, streamId: 'browser-stream',
    playerName: 'hls.js', playerVersion: Hls.version, heartbeatIntervalMs: 2000, flushIntervalMs: 1000,
  });
  const hls = new Hls({
    cmcd: {
      version: 2, sessionId: ${JSON.stringify(CMCD_SESSION)}, contentId: 'browser-stream',
      eventTargets: [{ url: collector + '/v1/cmcd?key=' + ${JSON.stringify(TEST_WRITE_KEY)}, events: ['ps', 'e', 't', 'bc'], interval: 2, batchSize: 1 }],
    },
  });
  hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) watcher.reportError(data.details, String(data.reason || ''), true); });
  hls.loadSource('/index.m3u8');
  hls.attachMedia(video);
  video.play();
</script></body></html>`;
}

interface StoredEvent {
  event: string;
  source: string;
  view_id: string;
  view_seq: number;
  counters: Record<string, number>;
  dimensions?: Record<string, unknown>;
}
const stored = () => collector.records(TOPICS.playerEvents).map((r) => r.value as unknown as StoredEvent);
const bySource = (source: string) =>
  stored()
    .filter((e) => e.source === source)
    .sort((a, b) => a.view_seq - b.view_seq);

describe('browser SDK in Chromium with hls.js', () => {
  it('reports the playback of a real HLS stream through the SDK and through CMCD', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageOrigin);

    // Scripts run in the page, as strings: this project compiles without the DOM library.
    const inPage = <T>(script: string) => page.evaluate<T>(script);
    await waitFor(
      'playback to pass 3 s',
      async () => (await inPage<number>('document.getElementById("video").currentTime')) > 3,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await inPage('document.getElementById("video").pause()');
    await sleep(500);
    await inPage(
      '(() => { const video = document.getElementById("video"); video.currentTime = 6; return video.play(); })()',
    );
    await waitFor('the stream to end', () => inPage<boolean>('document.getElementById("video").ended'), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    // Leaving the page fires pagehide: the SDK ends the view with sendBeacon.
    await page.goto('about:blank');
    await waitFor('the viewend beacon', () => bySource('sdk').some((e) => e.event === 'viewend'), {
      timeoutMs: 15_000,
    });
    await waitFor('the CMCD end of playback', () => bySource('cmcd').some((e) => e.event === 'ended'), {
      timeoutMs: 15_000,
    });
    await page.close();
    expect(pageErrors).toEqual([]);

    const sdk = bySource('sdk');
    const sdkNames = sdk.map((e) => e.event);
    for (const name of [
      'playerready',
      'viewstart',
      'play',
      'playing',
      'pause',
      'seeking',
      'seeked',
      'heartbeat',
      'ended',
      'viewend',
    ]) {
      expect(sdkNames).toContain(name);
    }
    expect(new Set(sdk.map((e) => e.view_id)).size).toBe(1);
    expect(sdk.map((e) => e.view_seq)).toEqual(sdk.map((_, i) => i));
    const last = sdk.at(-1)!;
    expect(last.counters.ttff_ms).toBeGreaterThan(0);
    expect(last.counters.playing_ms).toBeGreaterThan(4_000);
    expect(last.counters.watch_ms).toBeGreaterThanOrEqual(last.counters.playing_ms!);
    expect(last.counters.seek_count).toBe(1);
    expect(last.dimensions).toMatchObject({
      player_name: 'hls.js',
      source_width: 640,
      source_height: 360,
      player_width: 960,
      device: 'desktop',
      os: 'Linux',
    });
    // Shown at 960x540 from a 640x360 source: upscaled by half.
    expect(last.counters.max_upscale_pct).toBeCloseTo(50, 0);
    for (const key of ['watch_ms', 'playing_ms']) {
      const series = sdk.map((e) => e.counters[key]!);
      expect(series).toEqual([...series].sort((a, b) => a - b));
    }

    const cmcd = bySource('cmcd');
    expect(new Set(cmcd.map((e) => e.view_id))).toEqual(new Set([CMCD_SESSION]));
    const cmcdNames = cmcd.map((e) => e.event);
    for (const name of ['viewstart', 'playing', 'heartbeat', 'pause', 'ended']) expect(cmcdNames).toContain(name);
    const cmcdEnd = cmcd.find((e) => e.event === 'ended')!;
    expect(cmcdEnd.counters.playing_ms).toBeGreaterThan(3_000);
    expect(cmcdEnd.counters.ttff_ms).toBeGreaterThan(0);
  }, 120_000);
});
