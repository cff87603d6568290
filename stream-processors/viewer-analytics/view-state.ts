import type { AnalyticsSettings } from '../../core/config.ts';
import type { EnrichedPlayerEvent, PlayerState } from '../../core/schemas/player-event.ts';
import { DIMENSIONS, type ViewSummary } from '../../core/analytics/aggregate-messages.ts';

/**
 * One view's state, built from its player events in any order.
 *
 * Every event becomes a sample keyed by `view_seq`. Everything the processor asks of a view is a
 * function of the *set* of samples, never of their arrival order: the view "as of" an instant is
 * its highest-`view_seq` sample timed at or before that instant (players send cumulative
 * counters, so that sample alone carries the totals), start is the earliest sample, failures are
 * any-of. Duplicates collapse on `view_seq`. So retries, reordering and redelivery are harmless.
 *
 * Samples older than the last closed window are folded into a baseline (only what later
 * questions can still ask of them survives), which keeps a view to a handful of samples.
 */

export type Dimension = (typeof DIMENSIONS)[number];
export type DimensionValues = Partial<Record<Dimension, string>>;

/** Player states in which a view counts as a concurrent viewer (Mux CCV: starting, watching, rebuffering, just failed). */
const WATCHING_STATES: ReadonlySet<PlayerState> = new Set([
  'starting',
  'waiting',
  'playing',
  'seeking',
  'rebuffering',
  'fatal_error',
]);

export interface SampleCounters {
  watch_ms: number;
  playing_ms: number;
  rebuffer_count: number;
  rebuffer_ms: number;
  seek_count?: number;
  seek_ms?: number;
  ttff_ms?: number;
  upscale_weighted_ms?: number;
  downscale_weighted_ms?: number;
  max_upscale_pct?: number;
  live_latency_ms?: number;
  dropped_frames?: number;
}

export interface Sample {
  seq: number;
  /** event_time, epoch ms. */
  t: number;
  state: PlayerState;
  viewend?: true;
  counters: SampleCounters;
  dims: DimensionValues;
  /** A fatal error: `business` when the player marked it a business exception (excluded from failure %). */
  fatal?: 'failure' | 'business';
  errorCode?: string;
}

/** What survives of the samples folded away (all timed before the last closed window's end). */
export interface Baseline {
  /** Samples timed at or before this (and before any viewend) are folded in. */
  through: number;
  /** The highest-seq folded sample: the view as of any instant after the fold. */
  latest: Sample;
  /** Rebuffering since (event time), when `latest` is rebuffering. */
  rebufferingSince?: number;
  /** Latest event time and the state of the latest sample in time order, for silence timeouts. */
  maxT: number;
  lastStateInTime: PlayerState;
  minT: number;
  /** Dimensions folded in seq order. */
  dims: DimensionValues;
  fatalFailure: boolean;
  fatalBusiness: boolean;
  /** The lowest-seq fatal error's code. */
  firstFatal?: { seq: number; code?: string };
  sampleCount: number;
}

export type EndReason = ViewSummary['end_reason'];

export interface ViewEnd {
  /** When the view ended: its viewend, or its last event plus the silence timeout. */
  at: number;
  reason: EndReason;
}

export interface ViewState {
  viewId: string;
  propertyId: string;
  streamId: string;
  creatorId: string;
  viewerId: string;
  /** The dimensions of the first event seen (the state store leaves equal ones out of later samples). */
  firstDims: DimensionValues;
  /** Samples not yet folded, sorted by seq. */
  samples: Sample[];
  baseline?: Baseline;
  /** Set once the end is final (watermark past end + allowed lateness); later events are refused. */
  ended?: ViewEnd;
  /** Highest view_seq kept at the end, once the samples of an ended view are dropped (it is remembered only to refuse late resumes). */
  endedAtSeq?: number;
  /** Set when the partition held too many views: the view ends at this watermark unless it ended earlier. */
  evictedAt?: number;
}

/** `retimed`: a duplicate that arrived with an earlier time, which it now carries. */
export type ApplyOutcome = 'applied' | 'retimed' | 'duplicate' | 'after_view_end' | 'view_identity_mismatch';

function analyticsDimensions(event: EnrichedPlayerEvent): DimensionValues {
  const d = event.dimensions;
  if (!d) return {};
  const dims: DimensionValues = {};
  if (d.device) dims.device = d.device;
  if (d.os) dims.os = d.os;
  if (d.browser) dims.browser = d.browser;
  if (d.player_name) dims.player = d.player_name;
  if (d.cdn) dims.cdn = d.cdn;
  if (d.rendition) dims.rendition = d.rendition;
  if (d.country) dims.country = d.country;
  return dims;
}

export function sampleOf(event: EnrichedPlayerEvent): Sample {
  const c = event.counters;
  const counters: SampleCounters = {
    watch_ms: c.watch_ms,
    playing_ms: c.playing_ms,
    rebuffer_count: c.rebuffer_count,
    rebuffer_ms: c.rebuffer_ms,
  };
  for (const key of [
    'seek_count',
    'seek_ms',
    'ttff_ms',
    'upscale_weighted_ms',
    'downscale_weighted_ms',
    'max_upscale_pct',
    'live_latency_ms',
    'dropped_frames',
  ] as const) {
    if (c[key] !== undefined) counters[key] = c[key];
  }
  // The schema validated the state; TypeBox's Composite type only widens the literal union to string.
  const sample: Sample = {
    seq: event.view_seq,
    t: event.event_time,
    state: event.player_state as PlayerState,
    counters,
    dims: analyticsDimensions(event),
  };
  if (event.event === 'viewend') sample.viewend = true;
  const fatal = event.error?.severity === 'fatal' || event.player_state === 'fatal_error';
  if (fatal) {
    sample.fatal = event.error?.business_exception ? 'business' : 'failure';
    if (event.error?.code) sample.errorCode = event.error.code;
  }
  return sample;
}

export function newView(event: EnrichedPlayerEvent): ViewState {
  return {
    viewId: event.view_id,
    propertyId: event.property_id,
    streamId: event.stream_id,
    creatorId: event.creator_id ?? '',
    viewerId: event.viewer_id,
    firstDims: analyticsDimensions(event),
    samples: [],
  };
}

function highestKeptSeq(view: ViewState): number {
  return Math.max(view.endedAtSeq ?? -1, view.baseline?.latest.seq ?? -1, view.samples.at(-1)?.seq ?? -1);
}

/**
 * Adds one event to its view. The caller has already refused events later than the allowed
 * lateness. A view keeps the identity (property, stream, viewer) of the first event seen for it.
 */
export function applyEvent(view: ViewState, event: EnrichedPlayerEvent): ApplyOutcome {
  if (event.property_id !== view.propertyId || event.stream_id !== view.streamId || event.viewer_id !== view.viewerId) {
    return 'view_identity_mismatch';
  }
  if (view.ended) return event.view_seq <= highestKeptSeq(view) ? 'duplicate' : 'after_view_end';
  if (!view.creatorId && event.creator_id) view.creatorId = event.creator_id;
  const sample = sampleOf(event);
  const samples = view.samples;
  let low = 0;
  let high = samples.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (samples[mid]!.seq < sample.seq) low = mid + 1;
    else high = mid;
  }
  const existing = samples[low];
  if (existing?.seq === sample.seq) {
    // A retried event re-corrected for clock skew may carry another time; the earliest wins, whatever the order.
    if (sample.t >= existing.t) return 'duplicate';
    samples[low] = sample;
    return 'retimed';
  }
  if (view.baseline && sample.seq === view.baseline.latest.seq) return 'duplicate';
  samples.splice(low, 0, sample);
  return 'applied';
}

export interface ViewAsOf {
  /** The highest-seq sample timed at or before the instant (after a viewend, nothing later counts). */
  sample: Sample;
  /** The latest event time at or before the instant. */
  lastEventAt: number;
}

function firstViewendSeq(view: ViewState): number | undefined {
  for (const sample of view.samples) if (sample.viewend) return sample.seq;
  return undefined;
}

/** The view as of `instant`, in one pass over its samples. */
export function asOf(view: ViewState, instant: number): ViewAsOf | undefined {
  const samples = view.samples;
  const viewendSeq = firstViewendSeq(view) ?? Infinity;
  const base = view.baseline;
  let found: Sample | undefined;
  let lastEventAt = base?.maxT ?? -Infinity;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    if (s.seq > viewendSeq || s.t > instant) continue;
    found ??= s;
    if (s.t > lastEventAt) lastEventAt = s.t;
  }
  if (base && (!found || base.latest.seq > found.seq)) found = base.latest;
  return found && { sample: found, lastEventAt };
}

/** Since when (event time) the view has been rebuffering without interruption, as of `sample`. */
function rebufferingSince(view: ViewState, sample: Sample): number {
  if (view.baseline?.latest === sample) return view.baseline.rebufferingSince ?? sample.t;
  let since = sample.t;
  const index = view.samples.indexOf(sample);
  for (let i = index - 1; i >= 0; i--) {
    const previous = view.samples[i]!;
    if (previous.state !== 'rebuffering') return since;
    since = Math.min(since, previous.t);
  }
  const base = view.baseline;
  if (base && base.latest.seq < sample.seq && base.latest.state === 'rebuffering')
    return Math.min(since, base.rebufferingSince ?? base.latest.t);
  return since;
}

function reportsEveryDimension(dims: DimensionValues): boolean {
  for (const dimension of DIMENSIONS) if (dims[dimension] === undefined) return false;
  return true;
}

/** Dimension values hold only DIMENSIONS' keys (built from events, or decoded from what the processor wrote). */
export function sameDimensions(a: DimensionValues, b: DimensionValues): boolean {
  for (const dimension of DIMENSIONS) if (a[dimension] !== b[dimension]) return false;
  return true;
}

/** Dimensions as of a sample: what it reported, completed by earlier samples (by seq) for what it left out. */
export function dimensionsAsOf(view: ViewState, sample: Sample): DimensionValues {
  // Players that report every dimension on every event (the common case) need no fold.
  if (reportsEveryDimension(sample.dims)) return sample.dims;
  const dims: DimensionValues = { ...view.baseline?.dims };
  for (const s of view.samples) {
    if (s.seq > sample.seq) break;
    Object.assign(dims, s.dims);
  }
  return dims;
}

/**
 * Whether the view counts as a concurrent viewer at `instant` (Mux CCV): started, not ended, an
 * event within `inactiveAfterMs`, in a watching state (not paused, ended or quit), and not
 * rebuffering for longer than `maxRebufferMs`.
 */
export function isWatchingAt(
  view: ViewState,
  instant: number,
  settings: Pick<AnalyticsSettings, 'inactiveAfterMs' | 'maxRebufferMs'>,
  at: ViewAsOf | undefined = asOf(view, instant),
): boolean {
  if (!at || at.sample.viewend) return false;
  if (view.ended && instant >= view.ended.at) return false;
  if (instant - at.lastEventAt >= settings.inactiveAfterMs) return false;
  const { sample } = at;
  if (!WATCHING_STATES.has(sample.state)) return false;
  if (sample.state === 'rebuffering' && instant - rebufferingSince(view, sample) > settings.maxRebufferMs) return false;
  return true;
}

/** The latest event time the view holds (samples and baseline); -Infinity when it holds none. */
export function latestEventTime(view: ViewState): number {
  let latest = view.baseline?.maxT ?? -Infinity;
  for (const sample of view.samples) if (sample.t > latest) latest = sample.t;
  return latest;
}

export function startedAt(view: ViewState): number | undefined {
  let min = view.baseline?.minT;
  for (const sample of view.samples) if (min === undefined || sample.t < min) min = sample.t;
  return min;
}

export interface ViewEndCandidate extends ViewEnd {
  /** Seqs of samples after the end (resumed after a silence, or sent after the viewend). */
  afterEnd: Sample[];
}

/**
 * Where the view ends given the samples so far: at its first silence longer than the timeout
 * (60 s, or 60 min while paused) plus that timeout, or at its viewend. The end is final once the watermark has
 * passed it by the allowed lateness: no event that could change it can be accepted any more.
 */
export function endCandidate(
  view: ViewState,
  settings: Pick<AnalyticsSettings, 'endAfterSilenceMs' | 'pausedEndAfterMs'>,
): ViewEndCandidate | undefined {
  const natural = naturalEnd(view, settings);
  if (view.evictedAt === undefined || (natural && natural.at <= view.evictedAt)) return natural;
  const evictedAt = view.evictedAt;
  return { at: evictedAt, reason: 'capacity', afterEnd: view.samples.filter((s) => s.t > evictedAt) };
}

function naturalEnd(
  view: ViewState,
  settings: Pick<AnalyticsSettings, 'endAfterSilenceMs' | 'pausedEndAfterMs'>,
): ViewEndCandidate | undefined {
  const timeoutAfter = (state: PlayerState) =>
    state === 'paused' ? settings.pausedEndAfterMs : settings.endAfterSilenceMs;
  const silenceReason = (state: PlayerState): EndReason => (state === 'paused' ? 'paused_timeout' : 'silence');
  const viewendSeq = firstViewendSeq(view);
  const inTimeOrder = view.samples
    .filter((s) => viewendSeq === undefined || s.seq <= viewendSeq)
    .sort((a, b) => a.t - b.t || a.seq - b.seq);
  let maxT = view.baseline?.maxT;
  let state = view.baseline?.lastStateInTime;
  for (let i = 0; i < inTimeOrder.length; i++) {
    const sample = inTimeOrder[i]!;
    if (maxT !== undefined && state !== undefined && sample.t - maxT >= timeoutAfter(state)) {
      const kept = new Set(inTimeOrder.slice(0, i));
      return {
        at: maxT + timeoutAfter(state),
        reason: silenceReason(state),
        afterEnd: view.samples.filter((s) => !kept.has(s)),
      };
    }
    if (maxT === undefined || sample.t >= maxT) state = sample.state;
    maxT = maxT === undefined ? sample.t : Math.max(maxT, sample.t);
  }
  if (maxT === undefined || state === undefined) return undefined;
  if (viewendSeq !== undefined) {
    // The viewend's own time: an earlier-seq event stamped after it (clock correction moved it) cannot push the end later.
    const viewend = view.samples.find((s) => s.seq === viewendSeq)!;
    return { at: viewend.t, reason: 'viewend', afterEnd: view.samples.filter((s) => s.seq > viewendSeq) };
  }
  return { at: maxT + timeoutAfter(state), reason: silenceReason(state), afterEnd: [] };
}

/** Ends the view for good, dropping the samples after its end (returned for the side output). */
export function endView(view: ViewState, end: ViewEndCandidate): Sample[] {
  const dropped = new Set(end.afterEnd);
  view.samples = view.samples.filter((s) => !dropped.has(s));
  view.ended = { at: end.at, reason: end.reason };
  return end.afterEnd;
}

/**
 * Reduces an ended view whose results are all published to what refusing its late events needs:
 * its identity, its end and its highest view_seq.
 */
export function forgetSamples(view: ViewState): void {
  view.endedAtSeq = highestKeptSeq(view);
  view.samples = [];
  delete view.baseline;
}

/**
 * Folds samples timed at or before `instant` (the last closed window's end) into the baseline.
 * A viewend and what comes after it stay samples: the view's end is read from them.
 */
export function foldSamplesUpTo(view: ViewState, instant: number): void {
  const viewendSeq = firstViewendSeq(view) ?? Infinity;
  const folds = (s: Sample) => s.t <= instant && s.seq < viewendSeq;
  const folded = view.samples.filter(folds);
  if (folded.length === 0) return;
  view.samples = view.samples.filter((s) => !folds(s));
  let base = view.baseline;
  for (const sample of folded) {
    if (!base) {
      base = {
        through: instant,
        latest: sample,
        rebufferingSince: sample.state === 'rebuffering' ? sample.t : undefined,
        maxT: sample.t,
        lastStateInTime: sample.state,
        minT: sample.t,
        dims: { ...sample.dims },
        fatalFailure: sample.fatal === 'failure',
        fatalBusiness: sample.fatal === 'business',
        firstFatal: sample.fatal ? { seq: sample.seq, code: sample.errorCode } : undefined,
        sampleCount: 1,
      };
      continue;
    }
    if (sample.seq > base.latest.seq) {
      const continuesRebuffering = sample.state === 'rebuffering' && base.latest.state === 'rebuffering';
      base.rebufferingSince =
        sample.state !== 'rebuffering'
          ? undefined
          : continuesRebuffering
            ? Math.min(base.rebufferingSince ?? base.latest.t, sample.t)
            : sample.t;
      base.latest = sample;
      Object.assign(base.dims, sample.dims);
    } else {
      // Folded out of seq order: its dimensions are older than what the baseline holds.
      base.dims = { ...sample.dims, ...base.dims };
    }
    if (sample.t >= base.maxT) base.lastStateInTime = sample.state;
    base.maxT = Math.max(base.maxT, sample.t);
    base.minT = Math.min(base.minT, sample.t);
    if (sample.fatal === 'failure') base.fatalFailure = true;
    if (sample.fatal === 'business') base.fatalBusiness = true;
    if (sample.fatal && (!base.firstFatal || sample.seq < base.firstFatal.seq))
      base.firstFatal = { seq: sample.seq, code: sample.errorCode };
    base.sampleCount += 1;
  }
  base!.through = instant;
  view.baseline = base;
}

/** One ended view, as Mux exports views: totals from the latest counters, dimensions as last reported. */
export function summarizeView(view: ViewState): ViewSummary {
  if (!view.ended) throw new RangeError(`view ${view.viewId} has not ended`);
  const base = view.baseline;
  let latest = base?.latest;
  let fatalFailure = base?.fatalFailure ?? false;
  let fatalBusiness = base?.fatalBusiness ?? false;
  let firstFatal = base?.firstFatal;
  let lastEventAt = base?.maxT ?? -Infinity;
  for (const sample of view.samples) {
    if (!latest || sample.seq > latest.seq) latest = sample;
    if (sample.fatal === 'failure') fatalFailure = true;
    if (sample.fatal === 'business') fatalBusiness = true;
    if (sample.fatal && (!firstFatal || sample.seq < firstFatal.seq))
      firstFatal = { seq: sample.seq, code: sample.errorCode };
    lastEventAt = Math.max(lastEventAt, sample.t);
  }
  if (!latest) throw new RangeError(`view ${view.viewId} has no samples`);
  const dims = dimensionsAsOf(view, latest);
  const c = latest.counters;
  const startup = c.ttff_ms ?? null;
  // Mux: business exceptions are not failures; EBVS excludes any view that ended in a fatal error.
  const playbackFailure = fatalFailure && !fatalBusiness;
  return {
    view_id: view.viewId,
    property_id: view.propertyId,
    stream_id: view.streamId,
    creator_id: view.creatorId,
    viewer_id: view.viewerId,
    started_at: startedAt(view)!,
    last_event_at: lastEventAt,
    ended_at: view.ended.at,
    end_reason: view.ended.reason,
    device: dims.device ?? '',
    os: dims.os ?? '',
    browser: dims.browser ?? '',
    player: dims.player ?? '',
    cdn: dims.cdn ?? '',
    rendition: dims.rendition ?? '',
    country: dims.country ?? '',
    watch_ms: c.watch_ms,
    playing_ms: c.playing_ms,
    rebuffer_ms: c.rebuffer_ms,
    rebuffer_count: c.rebuffer_count,
    seek_count: c.seek_count ?? 0,
    seek_ms: c.seek_ms ?? 0,
    startup_time_ms: startup,
    upscale_weighted_ms: c.upscale_weighted_ms ?? 0,
    downscale_weighted_ms: c.downscale_weighted_ms ?? 0,
    max_upscale_pct: c.max_upscale_pct ?? 0,
    live_latency_ms: c.live_latency_ms ?? null,
    dropped_frames: c.dropped_frames ?? 0,
    playback_failure: playbackFailure,
    startup_failure: playbackFailure && startup === null,
    business_exception: fatalBusiness,
    exit_before_start: startup === null && !fatalFailure && !fatalBusiness,
    error_code: firstFatal?.code ?? '',
    events: (base?.sampleCount ?? 0) + view.samples.length,
  };
}
