import { PLAYER_STATES } from '../../core/schemas/player-event.ts';
import {
  sameDimensions,
  type Baseline,
  type DimensionValues,
  type Sample,
  type SampleCounters,
  type ViewState,
} from './view-state.ts';

/**
 * Compact JSON for persisted view state: the processor writes one sample per applied event, so
 * its size is most of the state store's write volume. Samples are arrays; dimensions equal to
 * the view's first reported ones are left out (a view's device, browser or CDN rarely change).
 */
const COUNTER_KEYS = [
  'watch_ms',
  'playing_ms',
  'rebuffer_count',
  'rebuffer_ms',
  'seek_count',
  'seek_ms',
  'ttff_ms',
  'upscale_weighted_ms',
  'downscale_weighted_ms',
  'max_upscale_pct',
  'live_latency_ms',
  'dropped_frames',
] as const satisfies ReadonlyArray<keyof SampleCounters>;

const VIEWEND = 1;
const FATAL_FAILURE = 2;
const FATAL_BUSINESS = 4;

export type EncodedSample = [
  seq: number,
  t: number,
  state: number,
  flags: number,
  counters: Array<number | null>,
  dims: DimensionValues | null,
  errorCode?: string,
];

export class StateDecodeError extends Error {
  constructor(what: string, detail: string) {
    super(`cannot decode persisted ${what}: ${detail}`);
    this.name = 'StateDecodeError';
  }
}

export function encodeSample(sample: Sample, viewDims: DimensionValues): EncodedSample {
  const counters: Array<number | null> = COUNTER_KEYS.map((key) => sample.counters[key] ?? null);
  while (counters.length > 4 && counters[counters.length - 1] === null) counters.pop();
  const flags =
    (sample.viewend ? VIEWEND : 0) |
    (sample.fatal === 'failure' ? FATAL_FAILURE : 0) |
    (sample.fatal === 'business' ? FATAL_BUSINESS : 0);
  const encoded: EncodedSample = [
    sample.seq,
    sample.t,
    PLAYER_STATES.indexOf(sample.state),
    flags,
    counters,
    sameDimensions(sample.dims, viewDims) ? null : sample.dims,
  ];
  if (sample.errorCode !== undefined) encoded.push(sample.errorCode);
  return encoded;
}

export function decodeSample(encoded: EncodedSample, viewDims: DimensionValues): Sample {
  const [seq, t, stateIndex, flags, counterValues, dims, errorCode] = encoded;
  const state = PLAYER_STATES[stateIndex];
  if (state === undefined || counterValues.length < 4)
    throw new StateDecodeError('sample', `state ${stateIndex}, ${counterValues.length} counters`);
  const counters = { watch_ms: 0, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0 } as SampleCounters;
  counterValues.forEach((value, i) => {
    if (value !== null) counters[COUNTER_KEYS[i]!] = value;
  });
  const sample: Sample = { seq, t, state, counters, dims: dims ?? viewDims };
  if (flags & VIEWEND) sample.viewend = true;
  if (flags & FATAL_FAILURE) sample.fatal = 'failure';
  if (flags & FATAL_BUSINESS) sample.fatal = 'business';
  if (errorCode !== undefined) sample.errorCode = errorCode;
  return sample;
}

interface EncodedView {
  property: string;
  stream: string;
  creator: string;
  viewer: string;
  /** The first reported dimensions; samples that report the same leave theirs out. */
  dims: DimensionValues;
  baseline?: Omit<Baseline, 'latest'> & { latest: EncodedSample };
  ended?: ViewState['ended'];
  endedAtSeq?: number;
  evictedAt?: number;
  /** Only for an ended view: its final samples (its sample rows are not read again). */
  samples?: EncodedSample[];
}

/** A view's header: everything but its samples, which are persisted one by one (except once it has ended). */
export function encodeViewHeader(view: ViewState): string {
  const viewDims = view.firstDims;
  const encoded: EncodedView = {
    property: view.propertyId,
    stream: view.streamId,
    creator: view.creatorId,
    viewer: view.viewerId,
    dims: viewDims,
  };
  if (view.baseline) encoded.baseline = { ...view.baseline, latest: encodeSample(view.baseline.latest, viewDims) };
  if (view.ended) {
    encoded.ended = view.ended;
    encoded.samples = view.samples.map((s) => encodeSample(s, viewDims));
  }
  if (view.endedAtSeq !== undefined) encoded.endedAtSeq = view.endedAtSeq;
  if (view.evictedAt !== undefined) encoded.evictedAt = view.evictedAt;
  return JSON.stringify(encoded);
}

interface DecodedViewHeader {
  view: ViewState;
  dims: DimensionValues;
  /** True when the header holds the view's samples (an ended view). */
  hasSamples: boolean;
}

function decodeViewHeader(viewId: string, body: string): DecodedViewHeader {
  let encoded: EncodedView;
  try {
    encoded = JSON.parse(body) as EncodedView;
  } catch (error) {
    throw new StateDecodeError(`view ${viewId}`, String(error));
  }
  const view: ViewState = {
    viewId,
    propertyId: encoded.property,
    streamId: encoded.stream,
    creatorId: encoded.creator,
    viewerId: encoded.viewer,
    firstDims: encoded.dims,
    samples: (encoded.samples ?? []).map((s) => decodeSample(s, encoded.dims)),
  };
  if (encoded.baseline)
    view.baseline = { ...encoded.baseline, latest: decodeSample(encoded.baseline.latest, encoded.dims) };
  if (encoded.ended) view.ended = encoded.ended;
  if (encoded.endedAtSeq !== undefined) view.endedAtSeq = encoded.endedAtSeq;
  if (encoded.evictedAt !== undefined) view.evictedAt = encoded.evictedAt;
  return { view, dims: encoded.dims, hasSamples: encoded.samples !== undefined };
}

export interface PersistedSample {
  viewId: string;
  body: EncodedSample;
}

/**
 * Puts views back together from their headers and sample rows. Samples a view folded are in its
 * baseline already (and may linger as rows until cleaned up); a seq seen twice keeps its earliest time.
 */
export function assembleViews(
  headers: Array<{ viewId: string; body: string }>,
  samples: PersistedSample[],
): ViewState[] {
  const byView = new Map<string, EncodedSample[]>();
  for (const { viewId, body } of samples) {
    const list = byView.get(viewId);
    if (list) list.push(body);
    else byView.set(viewId, [body]);
  }
  return headers.map(({ viewId, body }) => {
    const { view, dims, hasSamples } = decodeViewHeader(viewId, body);
    if (hasSamples) return view;
    const bySeq = new Map<number, Sample>();
    const decoded = (byView.get(viewId) ?? []).map((encoded) => decodeSample(encoded, dims));
    // The fold's own rule (view-state foldSamplesUpTo): before the instant and before any viewend.
    const viewendSeq = Math.min(...decoded.filter((s) => s.viewend).map((s) => s.seq));
    for (const sample of decoded) {
      if (
        view.baseline &&
        ((sample.t <= view.baseline.through && sample.seq < viewendSeq) || sample.seq === view.baseline.latest.seq)
      )
        continue;
      const seen = bySeq.get(sample.seq);
      if (!seen || sample.t < seen.t) bySeq.set(sample.seq, sample);
    }
    view.samples = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    return view;
  });
}
