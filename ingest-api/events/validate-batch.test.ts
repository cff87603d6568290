import { describe, expect, it } from 'vitest';
import { samplePlayerEvent } from './sample-player-events.ts';
import { validateBatchEvents } from './validate-batch.ts';

const receivedAt = 1_800_000_000_000;
const clock = { receivedAt, maxEventAgeMs: 86_400_000 };
const good = (overrides: object = {}) =>
  samplePlayerEvent({ viewer_time: receivedAt - 2_000, ...overrides }, receivedAt);

describe('validateBatchEvents', () => {
  it('accepts valid events and corrects their time by the batch offset', () => {
    const verdict = validateBatchEvents([good(), good({ viewer_time: receivedAt - 9_000 })], {
      ...clock,
      sentAt: receivedAt - 1_000,
    });
    expect(verdict.rejected).toEqual([]);
    expect(verdict.valid.map((v) => [v.index, v.eventTime])).toEqual([
      [0, receivedAt - 1_000],
      [1, receivedAt - 8_000],
    ]);
  });

  it.each([
    ['a missing view_id', { view_id: undefined }, '/view_id', /Expected required property/],
    ['an unknown event type', { event: 'teleport' }, '/event', /./],
    [
      'a negative counter',
      { counters: { watch_ms: -1, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0 } },
      '/counters/watch_ms',
      /greater or equal/,
    ],
    [
      'a huge counter',
      { counters: { watch_ms: 1e15, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0 } },
      '/counters/watch_ms',
      /less or equal/,
    ],
    ['a fractional sequence number', { view_seq: 1.5 }, '/view_seq', /integer/],
    ['a timestamp in seconds', { viewer_time: 1_800_000_000 }, '/viewer_time', /greater or equal/],
    ['an event_id that is no UUID', { event_id: 'abc' }, '/event_id', /./],
    ['an unknown property', { injected: true }, '/injected', /./],
    ['an id with control characters', { view_id: 'a\u0000b' }, '/view_id', /to match/],
    ['an over-long string', { dimensions: { cdn: 'x'.repeat(10_000) } }, '/dimensions/cdn', /length/],
    [
      'a time in the far future',
      { viewer_time: receivedAt + 86_400_000 },
      '/viewer_time',
      /in the future.*after clock correction/,
    ],
    ['a time long past', { viewer_time: receivedAt - 3 * 86_400_000 }, '/viewer_time', /old after clock correction/],
  ])('rejects an event with %s, naming %s', (_what, overrides, path, message) => {
    const event = good(overrides);
    const verdict = validateBatchEvents([good(), event], clock);
    expect(verdict.valid.map((v) => v.index)).toEqual([0]);
    expect(verdict.rejected).toHaveLength(1);
    const [rejected] = verdict.rejected;
    expect(rejected!.index).toBe(1);
    expect(rejected!.reason).toBe(/after clock correction/.test(String(message)) ? 'clock' : 'schema');
    expect(rejected!.original).toEqual(event);
    expect(rejected!.errors.length).toBeGreaterThan(0);
    expect(rejected!.errors.length).toBeLessThanOrEqual(5);
    expect(rejected!.errors.find((e) => e.path === path)?.message).toMatch(message);
  });

  it.each([
    ['a string', 'heartbeat'],
    ['null', null],
    ['a number', 42],
    ['an array', [1, 2, 3]],
  ])('rejects %s in place of an event', (_what, value) => {
    const verdict = validateBatchEvents([value], clock);
    expect(verdict.valid).toEqual([]);
    expect(verdict.rejected[0]).toMatchObject({ index: 0, reason: 'schema', original: value });
  });

  it('does not keep an absurdly nested event', () => {
    const deep: unknown = JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`);
    const verdict = validateBatchEvents([deep], clock);
    expect(verdict.rejected).toEqual([
      { index: 0, reason: 'nesting', errors: [{ path: '/', message: 'nests deeper than 32 levels' }] },
    ]);
  });
});
