import { describe, expect, it } from 'vitest';
import type { PartitionProgress } from './partition-analytics.ts';
import { PartitionChangeTracker } from './partition-changes.ts';
import type { Sample, ViewState } from './view-state.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function sample(seq: number): Sample {
  return {
    seq,
    t: T0 + seq * 1_000,
    state: 'playing',
    counters: { watch_ms: seq * 1_000, playing_ms: seq * 1_000, rebuffer_count: 0, rebuffer_ms: 0 },
    dims: {},
  };
}

function view(viewId: string, seqs: number[]): ViewState {
  return {
    viewId,
    propertyId: 'demo',
    streamId: 'stream-1',
    creatorId: 'creator-1',
    viewerId: `viewer-of-${viewId}`,
    firstDims: {},
    samples: seqs.map(sample),
  };
}

const progress: PartitionProgress = {
  lastOffset: '41',
  watermark: T0,
  nextWindowToClose: T0 - 20_000,
  foldedThrough: null,
  idleTicks: 0,
};

type Step = (tracker: PartitionChangeTracker, views: Map<string, ViewState>) => void;

interface Case {
  name: string;
  steps: Step[];
  hasChanges: boolean;
  /** What take() returns, progress left out (it is always the progress given). */
  taken: {
    samples: Array<[viewId: string, seq: number]>;
    views: string[];
    removedViews: string[];
    emittedKeys: string[];
  };
}

const nothing = { samples: [], views: [], removedViews: [], emittedKeys: [] };

const cases: Case[] = [
  { name: 'nothing recorded', steps: [], hasChanges: false, taken: nothing },
  { name: 'the progress alone', steps: [(t) => t.progressChanged()], hasChanges: true, taken: nothing },
  {
    name: 'a view changed twice is written once',
    steps: [(t) => t.viewChanged('a'), (t) => t.viewChanged('a')],
    hasChanges: true,
    taken: { ...nothing, views: ['a'] },
  },
  {
    name: 'a view removed after it changed is only removed',
    steps: [(t) => t.viewChanged('a'), (t) => t.viewChanged('b'), (t) => t.viewRemoved('a')],
    hasChanges: true,
    taken: { ...nothing, views: ['b'], removedViews: ['a'] },
  },
  {
    name: 'a view changed after it was removed (started again) is removed and written',
    steps: [(t) => t.viewRemoved('a'), (t) => t.viewChanged('a')],
    hasChanges: true,
    taken: { ...nothing, views: ['a'], removedViews: ['a'] },
  },
  {
    name: 'samples in the order they were applied',
    steps: [
      (t, views) => t.sampleAdded(views.get('a')!, views.get('a')!.samples[1]!),
      (t, views) => t.sampleAdded(views.get('b')!, views.get('b')!.samples[0]!),
      (t, views) => t.sampleAdded(views.get('a')!, views.get('a')!.samples[0]!),
    ],
    hasChanges: true,
    taken: {
      ...nothing,
      samples: [
        ['a', 1],
        ['b', 5],
        ['a', 0],
      ],
    },
  },
  {
    name: 'a sample folded into its header since is left out',
    steps: [
      (t, views) => t.sampleAdded(views.get('a')!, views.get('a')!.samples[0]!),
      (t, views) => t.sampleAdded(views.get('a')!, views.get('a')!.samples[1]!),
      (_, views) => views.get('a')!.samples.shift(),
    ],
    hasChanges: true,
    taken: { ...nothing, samples: [['a', 1]] },
  },
  {
    name: 'the samples of a view that ended since are left out (its header holds them)',
    steps: [
      (t, views) => t.sampleAdded(views.get('b')!, views.get('b')!.samples[0]!),
      (_, views) => (views.get('b')!.ended = { at: T0, reason: 'viewend' }),
    ],
    hasChanges: true,
    taken: nothing,
  },
  {
    name: 'keys in publishing order, window by window',
    steps: [
      (t) => t.keysEmitted(T0, ['k1', 'k2']),
      (t) => t.keysEmitted(T0 + 10_000, ['k3']),
      (t) => t.keysEmitted(T0, []),
    ],
    hasChanges: true,
    taken: { ...nothing, emittedKeys: [`${T0}/k1`, `${T0}/k2`, `${T0 + 10_000}/k3`] },
  },
  { name: 'no keys is no change', steps: [(t) => t.keysEmitted(T0, [])], hasChanges: false, taken: nothing },
];

describe('partition change tracker', () => {
  it.each(cases)('$name', ({ steps, hasChanges, taken }) => {
    const views = new Map([
      ['a', view('a', [0, 1])],
      ['b', view('b', [5])],
    ]);
    const tracker = new PartitionChangeTracker();
    for (const step of steps) step(tracker, views);
    expect(tracker.hasChanges()).toBe(hasChanges);
    const changes = tracker.take(views, progress);
    expect({
      samples: changes.samples.map(({ view: v, sample: s }) => [v.viewId, s.seq]),
      views: changes.views.map((v) => v.viewId),
      removedViews: changes.removedViews,
      emittedKeys: changes.emittedKeys.map(({ windowStart, key }) => `${windowStart}/${key}`),
    }).toEqual(taken);
    expect(changes.progress).toEqual(progress);
  });

  it('takes the views as they are at take time, and a copy of the progress', () => {
    const views = new Map([['a', view('a', [0])]]);
    const tracker = new PartitionChangeTracker();
    tracker.viewChanged('a');
    const later = view('a', [0, 1]);
    views.set('a', later);
    const live = { ...progress };
    const changes = tracker.take(views, live);
    live.lastOffset = '42';
    expect(changes.views[0]).toBe(later);
    expect(changes.progress.lastOffset).toBe('41');
  });

  it('starts afresh after a take', () => {
    const views = new Map([['a', view('a', [0])]]);
    const tracker = new PartitionChangeTracker();
    tracker.viewChanged('a');
    tracker.viewRemoved('b');
    tracker.sampleAdded(views.get('a')!, views.get('a')!.samples[0]!);
    tracker.keysEmitted(T0, ['k']);
    tracker.progressChanged();
    tracker.take(views, progress);
    expect(tracker.hasChanges()).toBe(false);
    expect(tracker.take(views, progress)).toEqual({
      progress,
      samples: [],
      views: [],
      removedViews: [],
      emittedKeys: [],
    });
  });
});
