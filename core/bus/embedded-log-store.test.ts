import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
    first.append([
      { topic: 'player.events', records: [record(0, 0, 'a', { seq: '1' }), record(0, 1, 'b'), record(1, 0, 'c')] },
    ]);
    first.commitOffset('group-a', 'player.events', 0, 1, 1_790_000_000_500);
    first.close();

    const second = new EmbeddedLogStore(path);
    expect(second.topics()).toEqual([
      {
        name: 'player.events',
        topicId: created.topicId,
        compacted: false,
        partitions: [
          { start: 0, end: 2 },
          { start: 0, end: 1 },
        ],
      },
    ]);
    expect(second.read('player.events', 0, 0, 10).map((r) => [r.offset, r.key, r.value.toString(), r.headers])).toEqual(
      [
        [0, 'k0', 'a', { seq: '1' }],
        [1, 'k1', 'b', {}],
      ],
    );
    expect(second.committedOffsets()).toEqual([
      { groupId: 'group-a', topic: 'player.events', partition: 0, nextOffset: 1 },
    ]);
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

  it('keeps the latest record per key of a compacted topic, a tombstone deleting the key, across a reopen', () => {
    const path = freshPath();
    const first = new EmbeddedLogStore(path);
    first.createTopic('changelog', 2, true);
    const entity = (partition: number, offset: number, key: string, value: string, tombstone = false) => ({
      ...record(partition, offset, value),
      key,
      tombstone,
    });
    first.append([
      {
        topic: 'changelog',
        records: [
          entity(0, 0, 'a', 'a1'),
          entity(0, 1, 'b', 'b1'),
          entity(0, 2, 'a', 'a2'),
          entity(1, 0, 'a', 'other'),
        ],
      },
    ]);
    first.append([{ topic: 'changelog', records: [entity(0, 3, 'b', '', true), entity(0, 4, 'c', 'c1')] }]);
    first.close();

    const second = new EmbeddedLogStore(path);
    expect(second.topics()[0]).toMatchObject({
      name: 'changelog',
      compacted: true,
      partitions: [
        { start: 0, end: 5 },
        { start: 0, end: 1 },
      ],
    });
    expect(second.read('changelog', 0, 0, 10).map((r) => [r.offset, r.key, r.value.toString()])).toEqual([
      [2, 'a', 'a2'],
      [4, 'c', 'c1'],
    ]);
    // A key deleted by a tombstone starts again.
    second.append([{ topic: 'changelog', records: [entity(0, 5, 'b', 'b2'), entity(0, 6, 'a', 'a3')] }]);
    expect(second.read('changelog', 0, 0, 10).map((r) => [r.offset, r.key, r.value.toString()])).toEqual([
      [4, 'c', 'c1'],
      [5, 'b', 'b2'],
      [6, 'a', 'a3'],
    ]);
    expect(second.read('changelog', 1, 0, 10).map((r) => r.value.toString())).toEqual(['other']);
    second.close();
  });

  it('stores a tombstone on a topic that is not compacted, and reads it as one', () => {
    const store = new EmbeddedLogStore(':memory:');
    store.createTopic('plain', 1);
    store.append([{ topic: 'plain', records: [{ ...record(0, 0, ''), tombstone: true }, record(0, 1, 'b')] }]);
    expect(store.read('plain', 0, 0, 10).map((r) => [r.offset, r.tombstone ?? false])).toEqual([
      [0, true],
      [1, false],
    ]);
    store.close();
  });

  it('opens a log written by schema version 1 (no compaction, no tombstones) and keeps its records', () => {
    const path = freshPath();
    new EmbeddedLogStore(path).close();
    // Schema version 1 as it was: the columns version 2 added are not there.
    const old = new Database(path);
    old.exec(
      'ALTER TABLE topics DROP COLUMN compacted; ALTER TABLE records DROP COLUMN tombstone; DROP TABLE compacted_keys; PRAGMA user_version = 1',
    );
    old.exec(
      "INSERT INTO topics (name, topic_id, partitions, created_at) VALUES ('old', 'id-1', 1, 0); INSERT INTO partitions VALUES (1, 0, 0, 1)",
    );
    old.exec(
      "INSERT INTO records (topic_no, partition, offset, key, value, headers, timestamp) VALUES (1, 0, 0, 'k', x'61', NULL, 5)",
    );
    old.close();
    const store = new EmbeddedLogStore(path);
    expect(store.topics()).toEqual([
      { name: 'old', topicId: 'id-1', compacted: false, partitions: [{ start: 0, end: 1 }] },
    ]);
    expect(store.read('old', 0, 0, 10).map((r) => [r.key, r.value.toString(), r.tombstone])).toEqual([
      ['k', 'a', undefined],
    ]);
    store.createTopic('changelog', 1, true);
    store.close();
  });

  it('refuses an append to a topic it does not have', () => {
    const store = new EmbeddedLogStore(':memory:');
    expect(() => store.append([{ topic: 'nowhere', records: [record(0, 0, 'a')] }])).toThrow(
      'embedded bus: unknown topic nowhere',
    );
    store.close();
  });
});
