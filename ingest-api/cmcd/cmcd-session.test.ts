import type { CmcdV2Data } from '@svta/cml-cmcd';
import { describe, expect, it } from 'vitest';
import { playerEventValidator } from '../../core/schemas/player-event.ts';
import {
  applyCmcdReport,
  MAX_ACCOUNTED_GAP_MS,
  RESUMED_SESSION_MIN_SN,
  type CmcdSessionContext,
  type CmcdSessionState,
} from './cmcd-session.ts';
import type { CmcdLine } from './decode-cmcd-report.ts';

const T0 = 1_800_000_000_000;
const context: CmcdSessionContext = { propertyId: 'shop', sid: 'sess-1', maxReportsPerSession: 1_000 };

let sn = 0;
/** One decoded report line of session sess-1, `at` ms after T0. */
function line(at: number, data: Partial<CmcdV2Data>, index = 0): CmcdLine {
  return {
    index,
    raw: '',
    data: { v: 2, sid: 'sess-1', cid: 'stream-9', sn: sn++, ts: T0 + at, ...data },
  };
}
const ps = (at: number, sta: string, extra: Partial<CmcdV2Data> = {}) =>
  line(at, { e: 'ps', sta: sta as CmcdV2Data['sta'], ...extra });
const tick = (at: number, extra: Partial<CmcdV2Data> = {}) => line(at, { e: 't', ...extra });

function run(lines: CmcdLine[], previous?: CmcdSessionState, ctx: Partial<CmcdSessionContext> = {}) {
  return applyCmcdReport(previous, lines, { ...context, ...ctx });
}

describe('applyCmcdReport', () => {
  it('derives Mux-style events and cumulative counters from a plain playback', () => {
    sn = 0;
    const update = run([
      ps(0, 'd'),
      ps(100, 's'),
      ps(600, 'p', { br: [2500], st: 'l', pt: 1_000 }),
      tick(10_600),
      ps(12_600, 'r'),
      ps(14_600, 'p'),
      ps(20_600, 'a'),
      tick(30_600),
    ]);
    expect(update.rejected).toEqual([]);
    expect(update.events.map((e) => [e.event, e.view_seq, e.player_state, e.viewer_time - T0])).toEqual([
      ['playerready', 0, 'preloading', 0],
      ['viewstart', 1, 'starting', 100],
      ['playing', 2, 'playing', 600],
      ['heartbeat', 3, 'playing', 10_600],
      ['rebufferstart', 4, 'rebuffering', 12_600],
      ['rebufferend', 5, 'rebuffering', 14_600],
      ['playing', 6, 'playing', 14_600],
      ['pause', 7, 'paused', 20_600],
      ['heartbeat', 8, 'paused', 30_600],
    ]);
    const last = update.events.at(-1)!;
    expect(last.counters).toEqual({
      watch_ms: 20_500,
      playing_ms: 18_000,
      rebuffer_count: 1,
      rebuffer_ms: 2_000,
      seek_count: 0,
      seek_ms: 0,
      ttff_ms: 500,
    });
    expect(last).toMatchObject({
      view_id: 'sess-1',
      viewer_id: 'sess-1',
      stream_id: 'stream-9',
      is_live: true,
      playhead_ms: 1_000,
      dimensions: { source_bitrate_kbps: 2_500 },
    });
    for (const event of update.events) expect(playerEventValidator.errors(event)).toEqual([]);
  });

  it('counts a stall after a seek as seek time, not as a rebuffer', () => {
    sn = 0;
    const { events } = run([ps(0, 's'), ps(400, 'p'), ps(5_400, 'k'), ps(5_500, 'r'), ps(6_400, 'p')]);
    expect(events.map((e) => e.event)).toEqual(['viewstart', 'playing', 'seeking', 'seeked', 'playing']);
    expect(events.at(-1)!.counters).toMatchObject({
      rebuffer_count: 0,
      rebuffer_ms: 0,
      seek_count: 1,
      seek_ms: 1_000,
      watch_ms: 6_400,
      playing_ms: 5_000,
    });
  });

  it('carries state across requests and ignores a repeated report', () => {
    sn = 0;
    const first = run([ps(0, 's'), ps(300, 'p')]);
    const repeated = run([ps(0, 's', { sn: 0 }), ps(300, 'p', { sn: 1 })], first.state);
    expect(repeated.events).toEqual([]);
    expect(repeated.late).toBe(2);
    const next = run([tick(10_300)], first.state);
    expect(next.events.map((e) => [e.event, e.view_seq, e.counters.playing_ms])).toEqual([['heartbeat', 2, 10_000]]);
  });

  it('gives the same event ids when the same report is applied to the same state (a retried request)', () => {
    sn = 0;
    const first = run([ps(0, 's')]);
    const lines = [ps(250, 'p'), tick(5_000)];
    expect(run(lines, first.state).events).toEqual(run(lines, first.state).events);
    expect(new Set(run(lines, first.state).events.map((e) => e.event_id)).size).toBe(2);
  });

  it.each([
    ['from starting to first frame', [() => ps(0, 's'), () => ps(700, 'p')], 700],
    ['from msd when the player reports it', [() => ps(0, 's'), () => ps(700, 'p', { msd: 450 })], 450],
    ['from a late starting report', [() => ps(700, 'p', { sn: 5 }), () => ps(0, 's', { sn: 4 })], 700],
  ])('knows the startup time %s', (_what, makers, ttff) => {
    sn = 0;
    const [a, b] = makers.map((make) => make());
    const first = run([a!]);
    const second = run([b!], first.state);
    expect(second.state.counters.ttff_ms).toBe(ttff);
  });

  it('does not charge a long silence (a sleeping device) to playing time', () => {
    sn = 0;
    const { events } = run([ps(0, 's'), ps(100, 'p'), tick(100 + 3_600_000)]);
    expect(events.at(-1)!.counters.playing_ms).toBe(MAX_ACCOUNTED_GAP_MS);
  });

  it('takes absolute starvation counts and durations when the player reports them', () => {
    sn = 0;
    const { events } = run([
      ps(0, 's'),
      ps(100, 'p'),
      tick(10_100, { bsa: [3], bsda: [4_200] }),
      tick(20_100, { bsd: [9_000] }),
    ]);
    expect(events.at(-2)!.counters).toMatchObject({ rebuffer_count: 3, rebuffer_ms: 4_200 });
    expect(events.at(-1)!.counters).toMatchObject({ rebuffer_count: 3, rebuffer_ms: 9_000 });
  });

  it('starts a new view when the content changes', () => {
    sn = 0;
    const { events } = run([ps(0, 's'), ps(200, 'p'), tick(5_200, { cid: 'stream-10' })]);
    expect(events.map((e) => [e.event, e.view_id, e.stream_id, e.view_seq])).toEqual([
      ['viewstart', 'sess-1', 'stream-9', 0],
      ['playing', 'sess-1', 'stream-9', 1],
      ['viewend', 'sess-1', 'stream-9', 2],
      ['viewstart', 'sess-1/1', 'stream-10', 0],
      ['heartbeat', 'sess-1/1', 'stream-10', 1],
    ]);
    expect(events[2]!.counters.playing_ms).toBe(5_000);
    expect(events[4]!.counters).toMatchObject({ playing_ms: 0, watch_ms: 0 });
  });

  it.each([
    [
      'an error report',
      [() => ps(0, 's'), () => ps(500, 'p'), () => line(900, { e: 'e', ec: ['networkError', 'fragLoadError'] })],
      { code: 'networkError', severity: 'warning', context: 'fragLoadError' },
    ],
    ['a fatal state', [() => ps(0, 's'), () => ps(500, 'f')], { code: 'cmcd_fatal_error', severity: 'fatal' }],
    [
      'a fatal state with its code',
      [() => ps(0, 's'), () => ps(500, 'f', { ec: ['manifestLoadError'] })],
      { code: 'manifestLoadError', severity: 'fatal' },
    ],
  ])('reports %s as an error event', (_what, makers, error) => {
    sn = 0;
    const { events } = run(makers.map((make) => make()));
    expect(events.at(-1)).toMatchObject({ event: 'error', error });
  });

  it('starts a view for an error before playback (a startup failure)', () => {
    sn = 0;
    const { events } = run([ps(0, 'd'), line(300, { e: 'e', ec: ['manifestLoadError'] })]);
    expect(events.map((e) => e.event)).toEqual(['playerready', 'viewstart', 'error']);
  });

  it('ends the view on quit and tells the session to stop', () => {
    sn = 0;
    const first = run([ps(0, 's'), ps(100, 'p'), ps(5_100, 'q')]);
    expect(first.events.map((e) => e.event)).toEqual(['viewstart', 'playing', 'viewend']);
    expect(first.gone).toBe(true);
    const after = run([tick(10_000)], first.state);
    expect(after).toMatchObject({ gone: true, ignored: 1, events: [] });
  });

  it('ends the view and stops the session at its report budget', () => {
    sn = 0;
    const update = run([ps(0, 's'), ps(100, 'p'), tick(1_000), tick(2_000)], undefined, { maxReportsPerSession: 3 });
    expect(update.events.map((e) => e.event)).toEqual(['viewstart', 'playing', 'heartbeat', 'viewend']);
    expect(update).toMatchObject({ gone: true, ignored: 1 });
  });

  it.each([
    ['a timestamp in seconds', () => tick(0, { ts: 1_800_000_000 }), '/ts'],
    ['a play-state event without sta', () => line(0, { e: 'ps' }), '/sta'],
    ['no content id', () => tick(0, { cid: undefined }), '/cid'],
  ])('rejects a line with %s', (_what, make, path) => {
    sn = 0;
    const update = run([make()]);
    expect(update.events).toEqual([]);
    expect(update.rejected[0]!.errors[0]!.path).toBe(path);
  });

  it('uses the stream id of the report URL when the player sends no cid', () => {
    sn = 0;
    const { events } = run([ps(0, 's', { cid: undefined })], undefined, { fallbackStreamId: 'from-url' });
    expect(events[0]!.stream_id).toBe('from-url');
  });

  it('takes the viewer id from the livepulse-viewer custom key', () => {
    sn = 0;
    const { events } = run([ps(0, 's', { 'livepulse-viewer': 'viewer-42' })]);
    expect(events[0]!.viewer_id).toBe('viewer-42');
  });

  it('gives a session first seen mid-way a view id of its own', () => {
    sn = RESUMED_SESSION_MIN_SN + 8;
    const { events } = run([tick(0), ps(10, 'p')]);
    expect(events[0]!.view_id).toMatch(/^sess-1\/r[0-9a-z]+$/);
  });

  it('keeps the session id as view id when the first reports overtook each other', () => {
    const first = run([ps(400, 'p', { sn: 2 })]);
    const overtaken = run([ps(0, 'd', { sn: 0 }), ps(100, 's', { sn: 1 })], first.state);
    expect([...first.events, ...overtaken.events].map((e) => e.view_id)).toEqual(['sess-1', 'sess-1']);
    expect(overtaken.late).toBe(2);
    expect(overtaken.state.counters.ttff_ms).toBe(300);
  });
});
