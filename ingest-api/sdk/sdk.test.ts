import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { playerEventValidator } from '../../core/schemas/player-event.ts';
import { buildSdk } from './build.ts';
import type { MediaElement } from './src/browser.ts';
import { watchVideo, type Watcher } from './src/index.ts';

/** A <video> stand-in: the properties the SDK reads and the events a real element fires. */
class FakeVideo extends EventTarget implements MediaElement {
  currentTime = 0;
  paused = true;
  ended = false;
  videoWidth = 0;
  videoHeight = 0;
  clientWidth = 1280;
  clientHeight = 720;
  error: { code: number; message?: string } | null = null;
  fire(type: string): void {
    this.dispatchEvent(new Event(type));
  }
  getVideoPlaybackQuality() {
    return { droppedVideoFrames: 3 };
  }
}

interface Sent {
  url: string;
  body: {
    metadata: Record<string, unknown>;
    events: Array<Record<string, unknown> & { event: string; counters: Record<string, number> }>;
  };
  via: 'fetch' | 'beacon';
}

let sent: Sent[];
let statuses: Array<{ status: number; retryAfter?: string }>;
let pageListeners: Record<string, () => void>;
let watcher: Watcher | undefined;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  vi.setSystemTime(new Date('2027-01-15T12:00:00Z'));
  sent = [];
  statuses = [];
  pageListeners = {};
  vi.stubGlobal('fetch', (url: string, init: { body: string; headers: Record<string, string> }) => {
    expect(init.headers['content-type']).toBe('text/plain');
    sent.push({ url, body: JSON.parse(init.body) as Sent['body'], via: 'fetch' });
    const next = statuses.shift() ?? { status: 202 };
    return Promise.resolve({
      status: next.status,
      headers: { get: (name: string) => (name === 'retry-after' ? (next.retryAfter ?? null) : null) },
    });
  });
  vi.stubGlobal('navigator', {
    sendBeacon: (url: string, body: string) => {
      sent.push({ url, body: JSON.parse(body) as Sent['body'], via: 'beacon' });
      return true;
    },
  });
  vi.stubGlobal('addEventListener', (type: string, listener: () => void) => (pageListeners[type] = listener));
  vi.stubGlobal('removeEventListener', (type: string) => delete pageListeners[type]);
});

afterEach(() => {
  watcher?.destroy();
  watcher = undefined;
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const allEvents = () => sent.flatMap((s) => s.body.events);
const names = () => allEvents().map((e) => e.event);
const flushMicrotasks = () => vi.advanceTimersByTimeAsync(0);

function start(video: FakeVideo, options: Partial<Parameters<typeof watchVideo>[1]> = {}) {
  watcher = watchVideo(video, {
    endpoint: 'https://collect.example/',
    writeKey: 'wk_test_123',
    streamId: 'stream-1',
    viewerId: 'viewer-1',
    playerName: 'hls.js',
    ...options,
  });
  return watcher;
}

async function play(video: FakeVideo, startupMs: number) {
  video.paused = false;
  video.fire('play');
  await vi.advanceTimersByTimeAsync(startupMs);
  video.videoWidth = 1280;
  video.videoHeight = 720;
  video.fire('resize');
  video.currentTime = 0.1;
  video.fire('playing');
}

describe('watchVideo', () => {
  it('reports a view from start to pagehide with Mux-style events and cumulative counters', async () => {
    const video = new FakeVideo();
    start(video);
    await play(video, 400);
    await flushMicrotasks();
    // viewstart is flushed at once, to the write-key URL.
    expect(sent[0]!.url).toBe('https://collect.example/v1/events?key=wk_test_123');
    expect(sent[0]!.body.events.map((e) => e.event)).toEqual(['playerready', 'viewstart']);
    expect(sent[0]!.body.metadata).toMatchObject({ sdk: 'livepulse-js/1.0.0', sent_at: Date.now() - 400 });

    await vi.advanceTimersByTimeAsync(10_000); // heartbeat 10 s after the last event
    video.currentTime = 10;
    video.fire('waiting');
    await vi.advanceTimersByTimeAsync(1_500);
    video.currentTime = 10.2;
    video.fire('playing');
    await vi.advanceTimersByTimeAsync(3_000);
    video.fire('seeking');
    await vi.advanceTimersByTimeAsync(700);
    video.fire('seeked');
    await vi.advanceTimersByTimeAsync(2_000);
    video.paused = true;
    video.fire('pause');
    await vi.advanceTimersByTimeAsync(30_000); // paused: no heartbeats, the batch goes out on the 10 s flush
    pageListeners.pagehide!();

    expect(names()).toEqual([
      'playerready',
      'viewstart',
      'play',
      'playing',
      'heartbeat',
      'rebufferstart',
      'rebufferend',
      'playing',
      'seeking',
      'seeked',
      'pause',
      'viewend',
    ]);
    expect(sent.at(-1)!.via).toBe('beacon');
    const events = allEvents();
    expect(events.map((e) => e.view_seq)).toEqual(events.map((_, i) => i));
    const playing = events.find((e) => e.event === 'playing')!;
    expect(playing.counters.ttff_ms).toBe(400);
    const end = events.at(-1)!;
    expect(end.counters).toMatchObject({
      ttff_ms: 400,
      rebuffer_count: 1,
      rebuffer_ms: 1_500,
      seek_count: 1,
      seek_ms: 700,
      watch_ms: 400 + 10_000 + 1_500 + 3_000 + 700 + 2_000,
      playing_ms: 10_000 + 3_000 + 2_000,
      dropped_frames: 3,
    });
    expect(end).toMatchObject({
      player_state: 'paused',
      stream_id: 'stream-1',
      viewer_id: 'viewer-1',
      dimensions: { player_name: 'hls.js', source_height: 720, rendition: '720p' },
    });
    // Counters never go backwards.
    for (const key of ['watch_ms', 'playing_ms', 'rebuffer_ms', 'seek_ms']) {
      const series = events.map((e) => e.counters[key]!);
      expect(series).toEqual([...series].sort((a, b) => a - b));
    }
  });

  it('produces only events the collector accepts', async () => {
    const video = new FakeVideo();
    start(video, { creatorId: 'creator-1', isLive: true, dimensions: { cdn: 'edge-1', custom_1: 'beta' } });
    await play(video, 250);
    video.error = { code: 3, message: 'decode failed' };
    video.fire('error');
    await flushMicrotasks();
    watcher!.destroy();
    await flushMicrotasks();
    for (const event of allEvents()) expect(playerEventValidator.errors(JSON.parse(JSON.stringify(event)))).toEqual([]);
    expect(allEvents().find((e) => e.event === 'error')).toMatchObject({
      error: { code: 'MEDIA_ERR_3', message: 'decode failed', severity: 'fatal' },
    });
  });

  it('treats a seek before the first frame (the player moving to its start position) as startup', async () => {
    const video = new FakeVideo();
    start(video);
    video.paused = false;
    video.fire('play');
    video.fire('seeking');
    await vi.advanceTimersByTimeAsync(300);
    video.fire('seeked');
    video.currentTime = 0.1;
    video.fire('playing');
    pageListeners.pagehide!();
    expect(names()).toEqual(['playerready', 'viewstart', 'play', 'playing', 'viewend']);
    expect(allEvents().at(-1)!.counters).toMatchObject({ seek_count: 0, ttff_ms: 300 });
  });

  it('sends a heartbeat every 10 s while playing, batched every 10 s', async () => {
    const video = new FakeVideo();
    start(video);
    await play(video, 100);
    await flushMicrotasks();
    sent = [];
    await vi.advanceTimersByTimeAsync(35_000);
    const requests = sent.length;
    pageListeners.pagehide!();
    expect(names().filter((n) => n === 'heartbeat')).toHaveLength(3);
    // The 10 s flush timer carries them: about one request per 10 s, not one per event.
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThanOrEqual(4);
  });

  it('retries a batch the collector answered 503, after its Retry-After, and drops one answered 400', async () => {
    const video = new FakeVideo();
    statuses.push({ status: 503, retryAfter: '5' });
    start(video);
    await play(video, 100);
    await flushMicrotasks();
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.body.events.map((e) => e.event_id)).toEqual(
      expect.arrayContaining(sent[0]!.body.events.map((e) => e.event_id)),
    );

    statuses.push({ status: 400 });
    video.error = { code: 2 };
    video.fire('error');
    await flushMicrotasks();
    const afterRejection = sent.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent.length).toBe(afterRejection);
  });

  it('backs off exponentially while the network is down, keeping the events in order', async () => {
    const video = new FakeVideo();
    start(video);
    vi.stubGlobal('fetch', () => {
      sent.push({ url: '', body: { metadata: {}, events: [] }, via: 'fetch' });
      return Promise.reject(new TypeError('Failed to fetch'));
    });
    await play(video, 100);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(40_000);
    // 1 s, 2 s, 4 s, 8 s, 16 s (each with up to 50 % jitter): about six tries in 40 s, not forty.
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(sent.length).toBeLessThanOrEqual(8);
  });

  it('ends the view and hands the rest to sendBeacon on pagehide, in pieces small enough for it', async () => {
    const video = new FakeVideo();
    start(video, { dimensions: { custom_1: 'x'.repeat(200) } });
    await play(video, 100);
    for (let i = 0; i < 280; i++) {
      video.fire(i % 2 ? 'seeked' : 'seeking');
    }
    pageListeners.pagehide!();
    const beacons = sent.filter((s) => s.via === 'beacon');
    expect(beacons.length).toBeGreaterThan(1);
    for (const beacon of beacons) expect(JSON.stringify(beacon.body).length).toBeLessThan(60_000);
    expect(names().at(-1)).toBe('viewend');
  });

  it('keeps at most 300 events per request', async () => {
    const video = new FakeVideo();
    start(video);
    statuses.push({ status: 503 });
    await play(video, 100);
    await flushMicrotasks();
    for (let i = 0; i < 700; i++) video.fire(i % 2 ? 'seeked' : 'seeking');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(Math.max(...sent.map((s) => s.body.events.length))).toBeLessThanOrEqual(300);
  });
});

describe('SDK bundles', () => {
  it('build to ESM and a script-tag IIFE within 6 KB min+gzip', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'livepulse-sdk-'));
    try {
      const bundles = await buildSdk(outdir);
      expect(bundles.map((b) => b.format).sort()).toEqual(['esm', 'iife']);
      for (const bundle of bundles) expect(bundle.gzipBytes).toBeLessThanOrEqual(6 * 1024);
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });
});
