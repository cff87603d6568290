import type { CmcdObjectTypeList, CmcdV2Data } from '@svta/cml-cmcd';
import {
  playerEventValidator,
  type PlayerEvent,
  type PlayerEventType,
  type PlayerState,
} from '../../core/schemas/player-event.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import type { CmcdLine } from './decode-cmcd-report.ts';
import { deterministicUuid } from './deterministic-uuid.ts';

/**
 * Turns one CMCD session's event reports into canonical player events with cumulative
 * counters, the way the SDK would have sent them. CMCD reports are snapshots (state, buffer,
 * bitrate, playhead at a timestamp), so the counters come from the session's history: the time
 * between two reports is charged to the state the player was in (playing, starting,
 * rebuffering or seeking count as watch time, paused does not), state changes count rebuffers
 * and seeks, and the first `s`→`p` gives the startup time when the player sends no `msd`.
 *
 * Pure: the previous state and the lines in, the next state and the events out. The route keeps
 * the state per session in live state and serialises the requests of one session.
 */
export type CmcdStateToken = 's' | 'p' | 'k' | 'r' | 'a' | 'w' | 'e' | 'f' | 'q' | 'd';

const STATE_NAMES: Record<CmcdStateToken, PlayerState> = {
  s: 'starting',
  p: 'playing',
  k: 'seeking',
  r: 'rebuffering',
  a: 'paused',
  w: 'waiting',
  e: 'ended',
  f: 'fatal_error',
  q: 'quit',
  d: 'preloading',
};

export type PlayerCounters = PlayerEvent['counters'];

export interface CmcdSessionState {
  v: 1;
  /** The current view: the sid, or `sid/<n>` after the n-th content change. */
  viewId: string;
  baseViewId: string;
  viewIndex: number;
  /** view_seq of the next event of the current view. */
  viewSeq: number;
  /** Highest `sn` applied (-1 before the first). */
  lastSn: number;
  /** `ts` of the latest applied line: where time accounting resumes. */
  lastTs: number;
  sta?: CmcdStateToken;
  streamId?: string;
  viewerId: string;
  viewStarted: boolean;
  startRequestedAt?: number;
  firstFrameAt?: number;
  counters: PlayerCounters;
  /** Σ `bsd` (starvation durations reported once each). */
  bsdTotalMs: number;
  /** Lines applied in this session, against the report budget. */
  reports: number;
  /** Why the session must stop sending (answered 410). */
  stopped?: 'quit' | 'report_budget';
  isLive?: boolean;
  playheadMs?: number;
  bitrateKbps?: number;
  cdn?: string;
}

export interface CmcdSessionContext {
  /** The property: namespaces the deterministic event ids. */
  propertyId: string;
  sid: string;
  /** `?stream_id=` of the report URL, for players that send no `cid`. */
  fallbackStreamId?: string;
  maxReportsPerSession: number;
}

export interface CmcdSessionUpdate {
  state: CmcdSessionState;
  events: PlayerEvent[];
  rejected: Array<{ index: number; errors: FieldError[] }>;
  /** The session must stop sending: answer 410. */
  gone: boolean;
  /** Lines that arrived after a later line of the session and were applied only in part. */
  late: number;
  /** Lines not applied because the session had stopped. */
  ignored: number;
}

/** Time between two reports beyond this (a sleeping device, a frozen tab) is not charged to any state. */
export const MAX_ACCOUNTED_GAP_MS = 120_000;
const ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const EPOCH_MS_MIN = 1_577_836_800_000;
const EPOCH_MS_MAX = 4_102_444_800_000;
const DURATION_MAX = 2_592_000_000;
/** CMCD custom key a page can set (hls.js `reporterCallback`) to name the viewer. */
export const VIEWER_ID_KEY = 'livepulse-viewer';

/** Whether a report names its viewer; without it, the session id stands in and unique viewers count sessions. */
export function namesViewer(data: CmcdV2Data): boolean {
  return typeof (data as Record<string, unknown>)[VIEWER_ID_KEY] === 'string';
}

export function sessionIdOf(data: CmcdV2Data): { ok: true; sid: string } | { ok: false; error: FieldError } {
  const sid = data.sid;
  if (typeof sid !== 'string')
    return { ok: false, error: { path: '/sid', message: 'the session id (sid) is required to follow a session' } };
  if (!ID.test(sid))
    return {
      ok: false,
      error: { path: '/sid', message: 'sid must be 1–128 characters of A-Z a-z 0-9 . _ : @ / + = -' },
    };
  return { ok: true, sid };
}

/**
 * A session first seen at a sequence number beyond this was going on before (its state expired,
 * or its first reports were lost). Below it, the first reports merely overtook each other: a
 * player with batch size 1 sends its first state changes as concurrent requests.
 */
export const RESUMED_SESSION_MIN_SN = 32;

export function newSessionState(sid: string, firstLine: CmcdV2Data): CmcdSessionState {
  // A resumed session gets a view id of its own, so its view_seq restarting at 0 cannot be mistaken for older events of the original view.
  const resumed = typeof firstLine.sn === 'number' && firstLine.sn >= RESUMED_SESSION_MIN_SN;
  const viewId = resumed ? clipId(`${sid}/r${(firstLine.ts ?? 0).toString(36)}`) : sid;
  return {
    v: 1,
    viewId,
    baseViewId: viewId,
    viewIndex: 0,
    viewSeq: 0,
    lastSn: -1,
    lastTs: 0,
    viewerId: sid,
    viewStarted: false,
    counters: { watch_ms: 0, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0, seek_count: 0, seek_ms: 0 },
    bsdTotalMs: 0,
    reports: 0,
  };
}

export function applyCmcdReport(
  previous: CmcdSessionState | undefined,
  lines: readonly CmcdLine[],
  context: CmcdSessionContext,
): CmcdSessionUpdate {
  const ordered = [...lines].sort(
    (a, b) => (a.data.sn ?? -1) - (b.data.sn ?? -1) || (a.data.ts ?? 0) - (b.data.ts ?? 0),
  );
  const state: CmcdSessionState = previous ? structuredClone(previous) : newSessionState(context.sid, ordered[0]!.data);
  const update: CmcdSessionUpdate = { state, events: [], rejected: [], gone: false, late: 0, ignored: 0 };

  for (const line of ordered) {
    if (state.stopped) {
      update.ignored++;
      continue;
    }
    const problem = lineProblem(line.data);
    if (problem) {
      update.rejected.push({ index: line.index, errors: [problem] });
      continue;
    }
    const streamId = streamIdOf(line.data, state, context);
    if (!streamId) {
      update.rejected.push({
        index: line.index,
        errors: [
          { path: '/cid', message: 'no content id: set cid (hls.js cmcd.contentId) or ?stream_id= on the report URL' },
        ],
      });
      continue;
    }
    const emitted = isLate(line.data, state)
      ? applyLateLine(state, line, context, update)
      : applyLine(state, line, streamId, context);
    const lineErrors: FieldError[] = [];
    for (const event of emitted) {
      const errors = playerEventValidator.errors(event, 5);
      if (errors.length > 0) lineErrors.push(...errors);
      else update.events.push(event);
    }
    if (lineErrors.length > 0) update.rejected.push({ index: line.index, errors: lineErrors.slice(0, 5) });
    state.reports++;
    if (state.reports >= context.maxReportsPerSession && !state.stopped) {
      if (state.viewStarted) update.events.push(buildEvent(state, line, 'viewend', 99, context));
      state.stopped = 'report_budget';
    }
  }
  update.gone = state.stopped !== undefined;
  return update;
}

function lineProblem(data: CmcdV2Data): FieldError | null {
  const ts = data.ts;
  if (typeof ts !== 'number' || ts < EPOCH_MS_MIN || ts > EPOCH_MS_MAX) {
    return { path: '/ts', message: 'ts must be epoch milliseconds between 2020 and 2100' };
  }
  if (data.e === 'ps' && !data.sta) return { path: '/sta', message: 'a play-state event (e=ps) needs sta' };
  return null;
}

function streamIdOf(data: CmcdV2Data, state: CmcdSessionState, context: CmcdSessionContext): string | undefined {
  return data.cid ?? state.streamId ?? context.fallbackStreamId;
}

function isLate(data: CmcdV2Data, state: CmcdSessionState): boolean {
  return typeof data.sn === 'number' ? data.sn <= state.lastSn : data.ts! < state.lastTs;
}

/** A line older than one already applied cannot move the state machine; only what does not depend on order is kept. */
function applyLateLine(
  state: CmcdSessionState,
  line: CmcdLine,
  context: CmcdSessionContext,
  update: CmcdSessionUpdate,
): PlayerEvent[] {
  update.late++;
  const { data } = line;
  if (
    data.e === 'ps' &&
    data.sta === 's' &&
    state.firstFrameAt !== undefined &&
    data.ts! < state.firstFrameAt &&
    state.counters.ttff_ms === undefined
  ) {
    state.counters.ttff_ms = state.firstFrameAt - data.ts!;
  }
  if (data.e === 'e') return [buildEvent(state, line, 'error', 0, context)];
  return [];
}

function applyLine(
  state: CmcdSessionState,
  line: CmcdLine,
  streamId: string,
  context: CmcdSessionContext,
): PlayerEvent[] {
  const { data } = line;
  const ts = data.ts!;
  const events: PlayerEvent[] = [];
  const emit = (type: PlayerEventType) => events.push(buildEvent(state, line, type, events.length, context));

  chargeElapsedTime(state, ts);
  if (state.streamId !== undefined && streamId !== state.streamId && state.viewStarted) {
    // New content in the same session is a new view, as a videochange is for Mux.
    emit('viewend');
    startNewView(state);
    // Content that changes during playback (a live programme boundary) starts its view at once.
    if (state.sta === 's' || state.sta === 'p' || state.sta === 'r' || state.sta === 'k') {
      state.streamId = streamId;
      startView(state, ts, emit);
      if (state.sta !== 's') state.firstFrameAt = ts;
    }
  }
  state.streamId = streamId;
  applySnapshot(state, data);

  switch (data.e) {
    case 'ps':
      transition(state, data.sta as CmcdStateToken, ts, emit);
      break;
    case 't':
      if (state.viewStarted) emit('heartbeat');
      break;
    case 'bc':
      if (state.viewStarted) emit('renditionchange');
      break;
    case 'e':
      // An error before playback counts as a view that failed to start.
      if (!state.viewStarted) startView(state, ts, emit);
      emit('error');
      break;
  }

  if (typeof data.sn === 'number') state.lastSn = data.sn;
  state.lastTs = Math.max(state.lastTs, ts);
  return events;
}

function startNewView(state: CmcdSessionState): void {
  state.viewIndex++;
  state.viewId = clipId(`${state.baseViewId}/${state.viewIndex}`);
  state.viewSeq = 0;
  state.viewStarted = false;
  state.startRequestedAt = undefined;
  state.firstFrameAt = undefined;
  state.counters = { watch_ms: 0, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0, seek_count: 0, seek_ms: 0 };
  state.bsdTotalMs = 0;
}

function chargeElapsedTime(state: CmcdSessionState, ts: number): void {
  if (!state.viewStarted || state.lastTs === 0 || !state.sta) return;
  const elapsed = Math.min(Math.max(0, ts - state.lastTs), MAX_ACCOUNTED_GAP_MS);
  const c = state.counters;
  switch (state.sta) {
    case 'p':
      c.playing_ms += elapsed;
      c.watch_ms += elapsed;
      break;
    case 's':
      c.watch_ms += elapsed;
      break;
    case 'r':
      c.rebuffer_ms += elapsed;
      c.watch_ms += elapsed;
      break;
    case 'k':
      c.seek_ms = (c.seek_ms ?? 0) + elapsed;
      c.watch_ms += elapsed;
      break;
  }
}

/** Values the report states outright: absolute counters win where they exceed what the transitions gave. */
function applySnapshot(state: CmcdSessionState, data: CmcdV2Data): void {
  const c = state.counters;
  const starvations = maxOf(data.bsa);
  if (starvations !== undefined && starvations <= 1_000_000_000)
    c.rebuffer_count = Math.max(c.rebuffer_count, starvations);
  const reported = sumOf(data.bsd);
  if (reported !== undefined) state.bsdTotalMs = Math.min(DURATION_MAX, state.bsdTotalMs + reported);
  const absolute = maxOf(data.bsda);
  c.rebuffer_ms = Math.min(DURATION_MAX, Math.max(c.rebuffer_ms, state.bsdTotalMs, absolute ?? 0));
  c.watch_ms = Math.max(c.watch_ms, c.rebuffer_ms);
  if (inRange(data.msd, DURATION_MAX)) c.ttff_ms = data.msd;
  if (inRange(data.dfa, 1_000_000_000)) c.dropped_frames = Math.max(c.dropped_frames ?? 0, data.dfa);
  if (inRange(data.ltc, DURATION_MAX)) c.live_latency_ms = data.ltc;
  if (inRange(data.pt, DURATION_MAX)) state.playheadMs = data.pt;
  const bitrate = firstOf(data.pb) ?? firstOf(data.br);
  if (inRange(bitrate, 1_000_000)) state.bitrateKbps = Math.round(bitrate);
  if (data.st) state.isLive = data.st !== 'v';
  if (typeof data.cdn === 'string' && data.cdn.length <= 64) state.cdn = data.cdn;
  const viewer = (data as Record<string, unknown>)[VIEWER_ID_KEY];
  if (typeof viewer === 'string' && ID.test(viewer)) state.viewerId = viewer;
}

function transition(
  state: CmcdSessionState,
  next: CmcdStateToken,
  ts: number,
  emit: (type: PlayerEventType) => void,
): void {
  const previous = state.sta;
  if (next === previous) return;
  // CMCD reports rebuffering after a seek too (the media element waits for data); Mux counts that as seek time.
  if (next === 'r' && (previous === 'k' || previous === 's')) return;
  const leaving = () => {
    if (previous === 'r') emit('rebufferend');
    if (previous === 'k') emit('seeked');
  };
  switch (next) {
    case 'd':
      state.sta = next;
      if (!state.viewStarted) emit('playerready');
      return;
    case 's':
      state.sta = next;
      if (!state.viewStarted) startView(state, ts, emit);
      else emit('play');
      return;
    case 'p':
      if (!state.viewStarted) startView(state, ts, emit);
      leaving();
      state.sta = next;
      if (state.firstFrameAt === undefined) {
        state.firstFrameAt = ts;
        if (
          state.counters.ttff_ms === undefined &&
          state.startRequestedAt !== undefined &&
          state.startRequestedAt < ts
        ) {
          state.counters.ttff_ms = ts - state.startRequestedAt;
        }
      }
      emit('playing');
      return;
    case 'k':
      state.sta = next;
      if (!state.viewStarted) return;
      state.counters.seek_count = (state.counters.seek_count ?? 0) + 1;
      emit('seeking');
      return;
    case 'r':
      state.sta = next;
      if (!state.viewStarted) return;
      state.counters.rebuffer_count++;
      emit('rebufferstart');
      return;
    case 'a':
    case 'w':
      leaving();
      state.sta = next;
      if (state.viewStarted) emit('pause');
      return;
    case 'e':
      leaving();
      state.sta = next;
      if (state.viewStarted) emit('ended');
      return;
    case 'f':
      leaving();
      state.sta = next;
      if (!state.viewStarted) startView(state, ts, emit);
      emit('error');
      return;
    case 'q':
      leaving();
      state.sta = next;
      if (state.viewStarted) emit('viewend');
      state.stopped = 'quit';
      return;
  }
}

function startView(state: CmcdSessionState, ts: number, emit: (type: PlayerEventType) => void): void {
  state.viewStarted = true;
  state.startRequestedAt = ts;
  emit('viewstart');
}

function buildEvent(
  state: CmcdSessionState,
  line: CmcdLine,
  type: PlayerEventType,
  ordinal: number,
  context: CmcdSessionContext,
): PlayerEvent {
  const { data } = line;
  const counters: PlayerCounters = { ...state.counters };
  for (const key of Object.keys(counters) as Array<keyof PlayerCounters>)
    if (counters[key] === undefined) delete counters[key];
  const event: PlayerEvent = {
    schema_v: 1,
    event_id: deterministicUuid(
      `${context.propertyId}|${context.sid}|${data.sn ?? ''}|${data.ts}|${data.e}|${type}|${ordinal}`,
    ),
    event: type,
    view_id: state.viewId,
    view_seq: state.viewSeq++,
    viewer_id: state.viewerId,
    stream_id: state.streamId ?? '',
    viewer_time: data.ts!,
    player_state: state.sta ? STATE_NAMES[state.sta] : 'preloading',
    counters,
  };
  if (state.playheadMs !== undefined) event.playhead_ms = state.playheadMs;
  if (state.isLive !== undefined) event.is_live = state.isLive;
  const dimensions: NonNullable<PlayerEvent['dimensions']> = {};
  if (state.bitrateKbps !== undefined) dimensions.source_bitrate_kbps = state.bitrateKbps;
  if (state.cdn !== undefined) dimensions.cdn = state.cdn;
  if (Object.keys(dimensions).length > 0) event.dimensions = dimensions;
  if (type === 'error') {
    const code =
      Array.isArray(data.ec) && typeof data.ec[0] === 'string' ? data.ec[0].slice(0, 64) : 'cmcd_fatal_error';
    event.error = { code, severity: state.sta === 'f' || data.sta === 'f' ? 'fatal' : 'warning' };
    if (Array.isArray(data.ec) && data.ec.length > 1)
      event.error.context = data.ec.slice(1, 10).join(', ').slice(0, 1024);
  }
  return event;
}

function clipId(id: string): string {
  return id.length > 128 ? id.slice(0, 128) : id;
}

function itemValues(list: CmcdObjectTypeList | undefined): number[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => (typeof item === 'number' ? item : item.value)).filter((n) => Number.isFinite(n) && n >= 0);
}
function firstOf(list: CmcdObjectTypeList | undefined): number | undefined {
  return itemValues(list)[0];
}
function maxOf(list: CmcdObjectTypeList | undefined): number | undefined {
  const values = itemValues(list);
  return values.length > 0 ? Math.max(...values) : undefined;
}
function sumOf(list: CmcdObjectTypeList | undefined): number | undefined {
  const values = itemValues(list);
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) : undefined;
}
function inRange(value: number | undefined, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max;
}
