import { describe, expect, it } from 'vitest';
import {
  assembleViews,
  decodeSample,
  encodeSample,
  encodeViewHeader,
  type EncodedSample,
  type PersistedSample,
} from './state-codec.ts';
import type { Sample, ViewState } from './view-state.ts';

const dims = {
  device: 'tv',
  os: 'Tizen',
  browser: 'x',
  player: 'hls.js',
  cdn: 'fastly',
  rendition: '1080p',
  country: 'DE',
};
const sample = (seq: number, t: number, extra: Partial<Sample> = {}): Sample => ({
  seq,
  t,
  state: 'playing',
  counters: { watch_ms: seq * 1000, playing_ms: seq * 900, rebuffer_count: 0, rebuffer_ms: 0, ttff_ms: 400 },
  dims,
  ...extra,
});

describe('state codec', () => {
  it.each([
    ['a plain heartbeat', sample(3, 1_000)],
    ['another rendition', sample(4, 2_000, { dims: { ...dims, rendition: '480p' } })],
    ['a viewend', sample(5, 3_000, { viewend: true, state: 'quit' })],
    ['a fatal business error', sample(6, 4_000, { fatal: 'business', errorCode: 'GEO', state: 'fatal_error' })],
    [
      'sparse counters',
      sample(7, 5_000, {
        counters: { watch_ms: 1, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0, dropped_frames: 9 },
      }),
    ],
  ])('round-trips %s, leaving out dimensions equal to the view’s first', (_name, s) => {
    const encoded = JSON.parse(JSON.stringify(encodeSample(s, dims))) as EncodedSample;
    expect(decodeSample(encoded, dims)).toEqual(s);
    if (s.dims === dims) expect(encoded[5]).toBeNull();
  });

  it('assembles views: folded samples come from the baseline, a seq seen twice keeps its earliest time', () => {
    const view: ViewState = {
      viewId: 'v1',
      propertyId: 'demo',
      streamId: 's',
      creatorId: 'c',
      viewerId: 'u',
      firstDims: dims,
      samples: [],
      baseline: {
        through: 1_500,
        latest: sample(1, 1_000),
        maxT: 1_000,
        lastStateInTime: 'playing',
        minT: 0,
        dims,
        fatalFailure: false,
        fatalBusiness: false,
        sampleCount: 2,
      },
    };
    const rows: PersistedSample[] = [
      sample(0, 0),
      sample(1, 1_000),
      sample(2, 2_000),
      sample(2, 1_900),
      sample(3, 3_000),
    ].map((s) => ({ viewId: 'v1', body: encodeSample(s, dims) }));
    const [restored] = assembleViews([{ viewId: 'v1', body: encodeViewHeader(view) }], rows);
    expect(restored!.samples.map((s) => [s.seq, s.t])).toEqual([
      [2, 1_900],
      [3, 3_000],
    ]);
    expect(restored!.baseline).toEqual(view.baseline);
  });
});
