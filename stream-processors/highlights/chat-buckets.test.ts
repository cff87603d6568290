import { describe, expect, it } from 'vitest';
import { ChatBucketer } from './chat-buckets.ts';

const T0 = Date.parse('2026-05-01T20:00:00.000Z');
const options = { bucketMs: 5_000, allowedLatenessMs: 2_000, maxEmptyBuckets: 3 };

describe('ChatBucketer', () => {
  it('closes a bucket once the watermark (latest message minus lateness) passes its end', () => {
    const bucketer = new ChatBucketer(options);
    bucketer.add('s', { sentAt: T0 + 1_000, userId: 'a', hype: false }, 0);
    bucketer.add('s', { sentAt: T0 + 2_000, userId: 'b', hype: true }, 0);
    bucketer.add('s', { sentAt: T0 + 3_000, userId: 'a', hype: true }, 0);
    bucketer.add('s', { sentAt: T0 + 6_500, userId: 'c', hype: false }, 0);
    expect(bucketer.close('s', 0)).toEqual([]);
    bucketer.add('s', { sentAt: T0 + 7_000, userId: 'c', hype: false }, 0);
    expect(bucketer.close('s', 0)).toEqual([{ startMs: T0, messages: 3, uniqueChatters: 2, hypeMessages: 2 }]);
  });

  it('counts a message within the lateness, and drops one whose bucket has closed', () => {
    const bucketer = new ChatBucketer(options);
    bucketer.add('s', { sentAt: T0 + 6_000, userId: 'a', hype: false }, 0);
    expect(bucketer.add('s', { sentAt: T0 + 4_500, userId: 'b', hype: false }, 0)).toBe(true);
    bucketer.add('s', { sentAt: T0 + 12_000, userId: 'a', hype: false }, 0);
    expect(bucketer.close('s', 0).map((b) => b.messages)).toEqual([1, 1]);
    expect(bucketer.add('s', { sentAt: T0 + 9_000, userId: 'c', hype: false }, 0)).toBe(false);
    expect(bucketer.lateMessages).toBe(1);
  });

  it('closes the buckets of a silent stream as the wall clock moves on', () => {
    const bucketer = new ChatBucketer(options);
    bucketer.add('s', { sentAt: T0 + 1_000, userId: 'a', hype: false }, 1_000_000);
    expect(bucketer.close('s', 1_000_000)).toEqual([]);
    expect(bucketer.close('s', 1_000_000 + 11_000).map((b) => [b.startMs - T0, b.messages])).toEqual([
      [0, 1],
      [5_000, 0],
    ]);
  });

  it('emits a bounded run of empty buckets across a long silence, then resumes at the next message', () => {
    const bucketer = new ChatBucketer(options);
    bucketer.add('s', { sentAt: T0, userId: 'a', hype: false }, 0);
    bucketer.add('s', { sentAt: T0 + 600_000, userId: 'b', hype: false }, 0);
    bucketer.add('s', { sentAt: T0 + 610_000, userId: 'b', hype: false }, 0);
    const closed = bucketer.close('s', 0);
    expect(closed.map((b) => [(b.startMs - T0) / 1000, b.messages])).toEqual([
      [0, 1],
      [5, 0],
      [10, 0],
      [15, 0],
      [600, 1],
    ]);
  });

  it('forgets streams silent for longer than the idle time', () => {
    const bucketer = new ChatBucketer(options);
    bucketer.add('old', { sentAt: T0, userId: 'a', hype: false }, 0);
    bucketer.add('new', { sentAt: T0, userId: 'a', hype: false }, 50_000);
    expect(bucketer.evictIdle(60_000, 30_000)).toEqual(['old']);
    expect(bucketer.streamIds()).toEqual(['new']);
  });
});
