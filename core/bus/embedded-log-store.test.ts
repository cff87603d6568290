import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedLogInUseError, EmbeddedLogStore } from './embedded-log-store.ts';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'livepulse-log-store-')), 'bus', 'log.sqlite');
const record = (partition: number, offset: number, value: string, headers: Record<string, string> = {}) => ({
  partition,
  offset,
  key: `k${offset}`,
  value: Buffer.from(value),
  headers,
  timestamp: 1_790_000_000_000 + offset,
});

describe('embedded log store (SQLite)', () => {
  it('keeps topics, their ids, records, bounds and commits across a close and reopen', () => {
    const path = freshPath();
    const first = new EmbeddedLogStore(path);
    const created = first.createTopic('player.events', 2);
    first.append([{ topic: 'player.events', records: [record(0, 0, 'a', { seq: '1' }), record(0, 1, 'b'), record(1, 0, 'c')] }]);
    first.commitOffset('group-a', 'player.events', 0, 1, 1_790_000_000_500);
    first.close();

    const second = new EmbeddedLogStore(path);
    expect(second.topics()).toEqual([{ name: 'player.events', topicId: created.topicId, partitions: [{ start: 0, end: 2 }, { start: 0, end: 1 }] }]);
    expect(second.read('player.events', 0, 0, 10).map((r) => [r.offset, r.key, r.value.toString(), r.headers])).toEqual([
      [0, 'k0', 'a', { seq: '1' }],
      [1, 'k1', 'b', {}],
    ]);
    expect(second.committedOffsets()).toEqual([{ groupId: 'group-a', topic: 'player.events', partition: 0, nextOffset: 1 }]);
    second.close();
  });

  it('keeps the log end when retention deletes every record, and gives each new topic a new id', () => {
    const path = freshPath();
    const store = new EmbeddedLogStore(path);
    const one = store.createTopic('one', 1);
    store.append([{ topic: 'one', records: [record(0, 0, 'a'), record(0, 1, 'b')] }]);
    store.deleteBefore('one', 0, 2);
    expect(store.read('one', 0, 0, 10)).toEqual([]);
    expect(store.topics()[0]!.partitions).toEqual([{ start: 2, end: 2 }]);
    expect(store.createTopic('two', 1).topicId).not.toBe(one.topicId);
    store.close();
  });

  it('refuses a second opening of the same file with a specific error, and opens again once closed', () => {
    const path = freshPath();
    const first = new EmbeddedLogStore(path);
    expect(() => new EmbeddedLogStore(path)).toThrow(EmbeddedLogInUseError);
    first.close();
    new EmbeddedLogStore(path).close();
  });

  it('refuses an append to a topic it does not have', () => {
    const store = new EmbeddedLogStore(':memory:');
    expect(() => store.append([{ topic: 'nowhere', records: [record(0, 0, 'a')] }])).toThrow('embedded bus: unknown topic nowhere');
    store.close();
  });
});
