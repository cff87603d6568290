import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The embedded bus's storage: its partitioned log and its consumer groups' committed offsets in
 * one SQLite database in WAL mode, so a publish acknowledged and an offset committed survive the
 * process (SIGKILL included) together.
 *
 * Durability of appends (`synchronous`):
 * - `full` (default): the WAL is fsynced before an append returns, so an acknowledged record
 *   survives a power loss or OS crash too — on one machine, what acks=all is on a Kafka cluster.
 * - `normal`: written to the WAL (the OS's page cache) before it returns: survives the process
 *   being killed, not a power loss (the last appends may be lost; the log stays consistent).
 * - `off`: no ordering guarantees at all; for measuring what durability costs, nothing else.
 * Offset commits and retention deletes are always written with `normal`: losing one to a power
 * loss means a redelivery, which at-least-once allows, and the fsync of a later append (WAL
 * frames are written in order) makes them durable anyway.
 *
 * Each topic has a random id, created with it: positions in a topic (a processor's saved state)
 * are only meaningful for the log with that id. A new database, or a topic created again, is a
 * different log, even where its offsets start from 0 again.
 *
 * One process per database: the file is opened with an exclusive lock, so a second process on
 * the same data directory fails at once instead of sharing consumer groups it cannot see.
 *
 * Compacted topics are compacted as they are appended to: `compacted_keys` holds each key's
 * latest offset, and an append deletes the record it replaces; a tombstone deletes it and is not
 * stored itself (its offset stays used). So readers of a compacted topic never meet a tombstone
 * here, where Kafka shows them until its cleaner has run.
 */
export type LogSynchronous = 'full' | 'normal' | 'off';

export interface StoredRecord {
  offset: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
  tombstone?: boolean;
}

export interface StoredTopic {
  name: string;
  /** Random id created with the topic (a UUID). */
  topicId: string;
  compacted: boolean;
  /** Per partition: first offset still stored and the next offset to append. */
  partitions: Array<{ start: number; end: number }>;
}

export interface AppendRecord {
  partition: number;
  offset: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
  tombstone?: boolean;
}

export interface StoredCommit {
  groupId: string;
  topic: string;
  partition: number;
  nextOffset: number;
}

export class EmbeddedLogInUseError extends Error {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the embedded bus log ${path} is open elsewhere (another process, or another bus in this one): embedded mode runs one process per data directory (LIVEPULSE_DATA_DIR)`,
      options,
    );
    this.name = 'EmbeddedLogInUseError';
  }
}

/** 2: compacted topics (topics.compacted, compacted_keys) and tombstones (records.tombstone). */
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  topic_no INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  topic_id TEXT NOT NULL,
  partitions INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  compacted INTEGER NOT NULL DEFAULT 0
);
-- The log end survives retention deleting every record: offsets never go back.
CREATE TABLE IF NOT EXISTS partitions (
  topic_no INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  PRIMARY KEY (topic_no, partition)
) WITHOUT ROWID;
-- A rowid table (records are larger than WITHOUT ROWID suits), found by position through the index.
CREATE TABLE IF NOT EXISTS records (
  topic_no INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  headers TEXT,
  timestamp INTEGER NOT NULL,
  tombstone INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS records_position ON records (topic_no, partition, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
  group_id TEXT NOT NULL,
  topic_no INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic_no, partition)
) WITHOUT ROWID;
-- Compacted topics only: each key's latest offset, so an append finds the record it replaces.
CREATE TABLE IF NOT EXISTS compacted_keys (
  topic_no INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  key TEXT NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (topic_no, partition, key)
) WITHOUT ROWID;
`;

/** Columns a log written by an earlier schema version lacks (CREATE TABLE IF NOT EXISTS leaves its tables as they are). */
const UPGRADES: Array<{ table: string; column: string; definition: string }> = [
  { table: 'topics', column: 'compacted', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'records', column: 'tombstone', definition: 'INTEGER' },
];

interface RecordRow {
  offset: number;
  key: string;
  value: Buffer;
  headers: string | null;
  timestamp: number;
  tombstone: number | null;
}

export class EmbeddedLogStore {
  private readonly db: Database.Database;
  private readonly topicNumbers = new Map<string, number>();
  private readonly compactedTopics = new Set<number>();
  private readonly statements: ReturnType<EmbeddedLogStore['prepareStatements']>;
  private readonly appendTransaction: (batch: Array<{ topic: string; records: AppendRecord[] }>) => void;

  /** `path` ':memory:' keeps nothing across the process (tests); anything else is a file. */
  constructor(
    readonly path: string,
    private readonly synchronous: LogSynchronous = 'full',
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    try {
      // Before WAL is first used: no shared memory, and the lock is held from the first write on.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
      // Retention frees pages for reuse; this keeps the WAL from staying at its high-water mark.
      this.db.pragma('journal_size_limit = 67108864');
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec(SCHEMA);
      for (const { table, column, definition } of UPGRADES) {
        const columns = this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
        if (!columns.some((c) => c.name === column))
          this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      }
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new EmbeddedLogInUseError(path, { cause: error });
      throw error;
    }
    this.statements = this.prepareStatements();
    this.appendTransaction = this.db.transaction((batch: Array<{ topic: string; records: AppendRecord[] }>) => {
      const ends = new Map<string, { topicNo: number; partition: number; end: number }>();
      for (const { topic, records } of batch) {
        const topicNo = this.topicNumber(topic);
        const compacted = this.compactedTopics.has(topicNo);
        for (const r of records) {
          if (compacted) this.compact(topicNo, r);
          if (!compacted || !r.tombstone) {
            this.statements.insertRecord.run(
              topicNo,
              r.partition,
              r.offset,
              r.key,
              r.value,
              headersText(r.headers),
              r.timestamp,
              r.tombstone ? 1 : null,
            );
          }
          ends.set(`${topicNo}/${r.partition}`, { topicNo, partition: r.partition, end: r.offset + 1 });
        }
      }
      for (const { topicNo, partition, end } of ends.values()) this.statements.setEnd.run(end, topicNo, partition);
    });
    for (const { topic_no, name, compacted } of this.db
      .prepare('SELECT topic_no, name, compacted FROM topics')
      .all() as Array<{ topic_no: number; name: string; compacted: number }>) {
      this.topicNumbers.set(name, topic_no);
      if (compacted) this.compactedTopics.add(topic_no);
    }
  }

  private prepareStatements() {
    return {
      insertTopic: this.db.prepare(
        'INSERT INTO topics (name, topic_id, partitions, created_at, compacted) VALUES (?, ?, ?, ?, ?)',
      ),
      insertPartition: this.db.prepare(
        'INSERT INTO partitions (topic_no, partition, start_offset, end_offset) VALUES (?, ?, 0, 0)',
      ),
      insertRecord: this.db.prepare(
        'INSERT INTO records (topic_no, partition, offset, key, value, headers, timestamp, tombstone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      latestOfKey: this.db.prepare(
        'SELECT offset FROM compacted_keys WHERE topic_no = ? AND partition = ? AND key = ?',
      ),
      setLatestOfKey: this.db.prepare(
        `INSERT INTO compacted_keys (topic_no, partition, key, offset) VALUES (?, ?, ?, ?)
         ON CONFLICT (topic_no, partition, key) DO UPDATE SET offset = excluded.offset`,
      ),
      forgetKey: this.db.prepare('DELETE FROM compacted_keys WHERE topic_no = ? AND partition = ? AND key = ?'),
      deleteAt: this.db.prepare('DELETE FROM records WHERE topic_no = ? AND partition = ? AND offset = ?'),
      setEnd: this.db.prepare('UPDATE partitions SET end_offset = ? WHERE topic_no = ? AND partition = ?'),
      setStart: this.db.prepare('UPDATE partitions SET start_offset = ? WHERE topic_no = ? AND partition = ?'),
      deleteBefore: this.db.prepare('DELETE FROM records WHERE topic_no = ? AND partition = ? AND offset < ?'),
      read: this.db.prepare(
        'SELECT offset, key, value, headers, timestamp, tombstone FROM records WHERE topic_no = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?',
      ),
      commit: this.db.prepare(
        `INSERT INTO group_offsets (group_id, topic_no, partition, next_offset, committed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (group_id, topic_no, partition) DO UPDATE SET next_offset = excluded.next_offset, committed_at = excluded.committed_at`,
      ),
    };
  }

  /** Deletes the record `r` replaces on a compacted topic, and records `r` as its key's latest (a tombstone: forgets the key). */
  private compact(topicNo: number, r: AppendRecord): void {
    const previous = this.statements.latestOfKey.get(topicNo, r.partition, r.key) as { offset: number } | undefined;
    if (previous) this.statements.deleteAt.run(topicNo, r.partition, previous.offset);
    if (r.tombstone) this.statements.forgetKey.run(topicNo, r.partition, r.key);
    else this.statements.setLatestOfKey.run(topicNo, r.partition, r.key, r.offset);
  }

  private topicNumber(topic: string): number {
    const topicNo = this.topicNumbers.get(topic);
    if (topicNo === undefined) throw new Error(`embedded bus: unknown topic ${topic}`);
    return topicNo;
  }

  /** Every topic with its id and partition bounds, as stored. */
  topics(): StoredTopic[] {
    const topics = this.db
      .prepare('SELECT topic_no, name, topic_id, partitions, compacted FROM topics ORDER BY topic_no')
      .all() as Array<{
      topic_no: number;
      name: string;
      topic_id: string;
      partitions: number;
      compacted: number;
    }>;
    const bounds = this.db
      .prepare('SELECT topic_no, partition, start_offset, end_offset FROM partitions')
      .all() as Array<{
      topic_no: number;
      partition: number;
      start_offset: number;
      end_offset: number;
    }>;
    return topics.map((t) => {
      const partitions = Array.from({ length: t.partitions }, () => ({ start: 0, end: 0 }));
      for (const b of bounds)
        if (b.topic_no === t.topic_no) partitions[b.partition] = { start: b.start_offset, end: b.end_offset };
      return { name: t.name, topicId: t.topic_id, compacted: t.compacted === 1, partitions };
    });
  }

  /** Creates a topic with a new random id; its offsets start at 0. */
  createTopic(name: string, partitions: number, compacted = false): StoredTopic {
    const topicId = randomUUID();
    this.withSynchronous('normal', () =>
      this.db.transaction(() => {
        const { lastInsertRowid } = this.statements.insertTopic.run(
          name,
          topicId,
          partitions,
          Date.now(),
          compacted ? 1 : 0,
        );
        const topicNo = Number(lastInsertRowid);
        for (let p = 0; p < partitions; p++) this.statements.insertPartition.run(topicNo, p);
        this.topicNumbers.set(name, topicNo);
        if (compacted) this.compactedTopics.add(topicNo);
      })(),
    );
    return { name, topicId, compacted, partitions: Array.from({ length: partitions }, () => ({ start: 0, end: 0 })) };
  }

  /** Appends records at the offsets given, in one transaction: when this returns, all of them are stored (see `synchronous`). */
  append(batch: Array<{ topic: string; records: AppendRecord[] }>): void {
    this.appendTransaction(batch);
  }

  read(topic: string, partition: number, from: number, max: number): StoredRecord[] {
    const rows = this.statements.read.all(this.topicNumber(topic), partition, from, max) as RecordRow[];
    return rows.map((row) => {
      const record: StoredRecord = {
        offset: row.offset,
        key: row.key,
        value: row.value,
        headers: row.headers === null ? {} : (JSON.parse(row.headers) as Record<string, string>),
        timestamp: row.timestamp,
      };
      if (row.tombstone) record.tombstone = true;
      return record;
    });
  }

  /** Deletes the records below `offset` (retention). */
  deleteBefore(topic: string, partition: number, offset: number): void {
    const topicNo = this.topicNumber(topic);
    this.withSynchronous('normal', () =>
      this.db.transaction(() => {
        this.statements.deleteBefore.run(topicNo, partition, offset);
        this.statements.setStart.run(offset, topicNo, partition);
      })(),
    );
  }

  commitOffset(groupId: string, topic: string, partition: number, nextOffset: number, committedAt: number): void {
    const topicNo = this.topicNumber(topic);
    this.withSynchronous('normal', () =>
      this.statements.commit.run(groupId, topicNo, partition, nextOffset, committedAt),
    );
  }

  committedOffsets(): StoredCommit[] {
    const rows = this.db
      .prepare(
        'SELECT g.group_id, t.name, g.partition, g.next_offset FROM group_offsets g JOIN topics t USING (topic_no)',
      )
      .all() as Array<{ group_id: string; name: string; partition: number; next_offset: number }>;
    return rows.map((r) => ({ groupId: r.group_id, topic: r.name, partition: r.partition, nextOffset: r.next_offset }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Writes that need not be fsynced on their own (see the class comment). */
  private withSynchronous<T>(level: LogSynchronous, write: () => T): T {
    if (level === this.synchronous || this.synchronous === 'off') return write();
    this.db.pragma(`synchronous = ${level.toUpperCase()}`);
    try {
      return write();
    } finally {
      this.db.pragma(`synchronous = ${this.synchronous.toUpperCase()}`);
    }
  }
}

function headersText(headers: Record<string, string>): string | null {
  for (const _ in headers) return JSON.stringify(headers);
  return null;
}
