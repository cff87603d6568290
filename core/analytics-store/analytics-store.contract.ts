import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseError } from '@clickhouse/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnalyticsStore } from './analytics-store.ts';
import { quoteIdentifier } from './sql-quoting.ts';
import { insertRows } from './insert.ts';
import { applyMigrations, MigrationChecksumError } from './migrations.ts';

/** Opens a store bound to `database` (which need not exist yet). */
export type MakeAnalyticsStore = (database: string) => Promise<AnalyticsStore>;

/**
 * What Livepulse relies on from the analytics store, checked against every adapter. Each test gets
 * a database of its own, dropped afterwards, so tests and test files never see each other's tables.
 */
export function describeAnalyticsStoreContract(name: string, makeStore: MakeAnalyticsStore): void {
  describe(`analytics store contract: ${name}`, () => {
    let store: AnalyticsStore;

    beforeEach(async () => {
      store = await makeStore(`contract_${randomUUID().replaceAll('-', '')}`);
    });

    afterEach(async () => {
      await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
      await store.close();
    });

    async function select<T>(query: string, query_params?: Record<string, unknown>): Promise<T[]> {
      const result = await store.client.query({ query, query_params, format: 'JSONEachRow' });
      return result.json<T>();
    }

    async function count(table: string): Promise<number> {
      const [row] = await select<{ n: number }>(`SELECT toUInt32(count()) AS n FROM ${table}`);
      return row!.n;
    }

    it('answers a ping and is bound to its database', async () => {
      await store.ping();
      expect(await select<{ db: string }>('SELECT currentDatabase() AS db')).toEqual([{ db: store.database }]);
    });

    describe('migrations', () => {
      let dir: string;

      beforeEach(async () => {
        dir = await mkdtemp(join(tmpdir(), 'livepulse-migrations-'));
        await writeFile(
          join(dir, '0001_first.sql'),
          [
            '-- a comment with a ; in it',
            "CREATE TABLE IF NOT EXISTS first (id UInt32, note String DEFAULT 'a;b') ENGINE = MergeTree ORDER BY id",
            'SETTINGS non_replicated_deduplication_window = 100;',
            '/* another; comment */',
            'CREATE TABLE IF NOT EXISTS second (id UInt32) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100;',
            '',
          ].join('\n'),
        );
        await writeFile(join(dir, '0002_more.sql'), 'ALTER TABLE first ADD COLUMN IF NOT EXISTS extra String;\n');
      });

      afterEach(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      it('apply in order, once: a second run changes nothing', async () => {
        expect(await applyMigrations(store, dir)).toEqual(['0001_first.sql', '0002_more.sql']);
        const recorded = await select(
          'SELECT version, name, checksum, applied_at FROM schema_migrations FINAL ORDER BY version',
        );
        expect(recorded).toHaveLength(2);
        expect(
          await select(
            'SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position',
            { table: 'first' },
          ),
        ).toEqual([{ name: 'id' }, { name: 'note' }, { name: 'extra' }]);

        expect(await applyMigrations(store, dir)).toEqual([]);
        expect(
          await select('SELECT version, name, checksum, applied_at FROM schema_migrations FINAL ORDER BY version'),
        ).toEqual(recorded);
        expect(await count('schema_migrations')).toBe(2);
      });

      it('refuse to run when an applied file has changed, naming the file', async () => {
        await applyMigrations(store, dir);
        await writeFile(
          join(dir, '0001_first.sql'),
          'CREATE TABLE IF NOT EXISTS first (id UInt64) ENGINE = MergeTree ORDER BY id;\n',
        );
        await writeFile(join(dir, '0003_later.sql'), 'CREATE TABLE IF NOT EXISTS later (id UInt32) ENGINE = Memory;\n');

        const failure = applyMigrations(store, dir);
        await expect(failure).rejects.toBeInstanceOf(MigrationChecksumError);
        await expect(failure).rejects.toMatchObject({
          file: '0001_first.sql',
          message: expect.stringContaining('0001_first.sql') as unknown,
        });
        expect(
          await select("SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'later'"),
        ).toEqual([]);
      });

      it("the project's migrations apply, and every MergeTree table deduplicates retried inserts", async () => {
        expect(await applyMigrations(store)).toContain('0001_foundation.sql');
        const tables = await select<{ name: string; create_table_query: string }>(
          "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree%'",
        );
        expect(tables.map((table) => table.name)).toContain('dead_letters');
        for (const table of tables) {
          expect(table.create_table_query, table.name).toMatch(/non_replicated_deduplication_window = [1-9]/);
        }
      });
    });

    describe('writes and reads', () => {
      const hostile = '\'); DROP TABLE events; --\\ \t\n"`é';

      beforeEach(async () => {
        await store.client.command({
          query: `CREATE TABLE events (id UInt32, name String) ENGINE = MergeTree ORDER BY id
                  SETTINGS non_replicated_deduplication_window = 100`,
        });
      });

      it('round-trips rows and binds query parameters, hostile strings included', async () => {
        await insertRows(store, {
          table: 'events',
          rows: [
            { id: 1, name: hostile },
            { id: 2, name: 'plain' },
          ],
          dedupToken: 'roundtrip-0-0-1',
        });

        expect(await select('SELECT id, name FROM events WHERE name = {name:String}', { name: hostile })).toEqual([
          { id: 1, name: hostile },
        ]);
        expect(
          await select('SELECT {value:String} AS value, {ids:Array(UInt32)} AS ids', { value: hostile, ids: [1, 2] }),
        ).toEqual([{ value: hostile, ids: [1, 2] }]);
        expect(await count('events')).toBe(2);
      });

      it('drops an insert whose dedup token the table has seen, and keeps one with a new token', async () => {
        const rows = [
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
        ];
        await insertRows(store, { table: 'events', rows, dedupToken: 'player.events-3-100-101' });
        await insertRows(store, { table: 'events', rows, dedupToken: 'player.events-3-100-101' });
        expect(await count('events')).toBe(2);

        await insertRows(store, { table: 'events', rows, dedupToken: 'player.events-3-102-103' });
        expect(await count('events')).toBe(4);
      });

      it('inserts compact rows (values only, columns from the keys) as JSONEachRow would, dedup token included', async () => {
        // Keys in another order than the table's columns: the column list follows the rows.
        const rows = [
          { name: hostile, id: 7 },
          { name: 'plain', id: 8 },
        ];
        await insertRows(store, { table: 'events', rows, dedupToken: 'compact-0-7-8', compact: true });
        await insertRows(store, { table: 'events', rows, dedupToken: 'compact-0-7-8', compact: true });
        expect(await select('SELECT id, name FROM events ORDER BY id', {})).toEqual([
          { id: 7, name: hostile },
          { id: 8, name: 'plain' },
        ]);
      });

      it('treats an empty batch as a no-op', async () => {
        await insertRows(store, { table: 'events', rows: [], dedupToken: 'empty-0-0-0' });
        expect(await count('events')).toBe(0);
      });

      it('applies settings and parameters to their own call only', async () => {
        await insertRows(store, { table: 'events', rows: [{ id: 1, name: 'a' }], dedupToken: 'scoped' });
        // Without a token of its own, this insert must not inherit the previous one and be dropped.
        await store.client.insert({ table: 'events', values: [{ id: 2, name: 'b' }], format: 'JSONEachRow' });
        expect(await count('events')).toBe(2);

        // Concurrent callers with and without tokens must not see each other's settings either.
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => [
            insertRows(store, {
              table: 'events',
              rows: [{ id: 100 + i, name: 'with token' }],
              dedupToken: `concurrent-${i}`,
            }),
            store.client.insert({
              table: 'events',
              values: [{ id: 200 + i, name: 'without token' }],
              format: 'JSONEachRow',
            }),
          ]).flat(),
        );
        expect(await count('events')).toBe(22);

        await select('SELECT {leftover:String} AS value', { leftover: 'x' });
        await expect(select('SELECT {leftover:String} AS value')).rejects.toMatchObject({
          code: '456',
          type: 'UNKNOWN_QUERY_PARAMETER',
        });
      });
    });

    it('ReplacingMergeTree read with FINAL returns the latest version of each key', async () => {
      await store.client.command({
        query: `CREATE TABLE windows (stream_id String, window_start DateTime('UTC'), viewers UInt32, version UInt64)
                ENGINE = ReplacingMergeTree(version) ORDER BY (stream_id, window_start)
                SETTINGS non_replicated_deduplication_window = 100`,
      });
      const window = { stream_id: 's1', window_start: '2026-01-01 00:00:00' };
      await insertRows(store, { table: 'windows', rows: [{ ...window, viewers: 10, version: 1 }], dedupToken: 'w-1' });
      await insertRows(store, { table: 'windows', rows: [{ ...window, viewers: 30, version: 3 }], dedupToken: 'w-3' });
      await insertRows(store, { table: 'windows', rows: [{ ...window, viewers: 20, version: 2 }], dedupToken: 'w-2' });

      expect(await select('SELECT stream_id, viewers FROM windows FINAL')).toEqual([{ stream_id: 's1', viewers: 30 }]);
    });

    it('an AggregatingMergeTree view merges uniqCombined states across inserts, and a deduplicated retry never reaches it', async () => {
      await store.client.command({
        query: `CREATE TABLE views (stream_id String, viewer_id String) ENGINE = MergeTree ORDER BY stream_id
                SETTINGS non_replicated_deduplication_window = 100`,
      });
      // view_rows is additive, so a retry that reached the view would show; uniques would not.
      await store.client.command({
        query: `CREATE TABLE stream_uniques (
                  stream_id String,
                  viewers AggregateFunction(uniqCombined, String),
                  view_rows SimpleAggregateFunction(sum, UInt64)
                )
                ENGINE = AggregatingMergeTree ORDER BY stream_id
                SETTINGS non_replicated_deduplication_window = 100`,
      });
      await store.client.command({
        query: `CREATE MATERIALIZED VIEW stream_uniques_mv TO stream_uniques AS
                SELECT stream_id, uniqCombinedState(viewer_id) AS viewers, toUInt64(count()) AS view_rows
                FROM views GROUP BY stream_id`,
      });
      const first = ['a', 'b', 'c'].map((viewer_id) => ({ stream_id: 's1', viewer_id }));
      const second = ['c', 'd'].map((viewer_id) => ({ stream_id: 's1', viewer_id }));
      await insertRows(store, { table: 'views', rows: first, dedupToken: 'views-0-0-2' });
      await insertRows(store, { table: 'views', rows: second, dedupToken: 'views-0-3-4' });
      await insertRows(store, { table: 'views', rows: second, dedupToken: 'views-0-3-4' });

      expect(
        await select(`SELECT stream_id, toUInt32(uniqCombinedMerge(viewers)) AS unique_viewers, toUInt32(sum(view_rows)) AS view_rows
                      FROM stream_uniques GROUP BY stream_id`),
      ).toEqual([{ stream_id: 's1', unique_viewers: 4, view_rows: 5 }]);
    });

    it('raises a ClickHouseError carrying the code, type and message of bad SQL', async () => {
      const syntax = select('SELEC 1');
      await expect(syntax).rejects.toBeInstanceOf(ClickHouseError);
      await expect(syntax).rejects.toMatchObject({
        code: '62',
        type: 'SYNTAX_ERROR',
        message: expect.stringContaining('Syntax error') as unknown,
      });

      await expect(select('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    });

    it('refuses multi-statement queries, as a ClickHouse server does', async () => {
      const multi = store.client.command({ query: 'SELECT 1; SELECT 2' });
      await expect(multi).rejects.toBeInstanceOf(ClickHouseError);
      await expect(multi).rejects.toMatchObject({
        code: '62',
        type: 'SYNTAX_ERROR',
        message: expect.stringContaining('Multi-statements') as unknown,
      });
    });
  });
}
