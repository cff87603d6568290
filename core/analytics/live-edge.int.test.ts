import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../analytics-store/sql-quoting.ts';
import { insertRows } from '../analytics-store/insert.ts';
import { applyMigrations } from '../analytics-store/migrations.ts';
import { testServices } from '../../test/services.ts';
import { dateTime64, watermarkRowForClickHouse, windowRowForClickHouse } from './clickhouse-rows.ts';
import { liveEdgeNowSql, liveEdgeSeries, liveEdgeViewersSql } from './live-edge.ts';
import { LIVE_EDGE_CASES, w } from './testing/live-edge-cases.ts';
import { emptyRow } from '../../stream-processors/viewer-analytics/window-rows.ts';

/**
 * The live-edge rule's SQL twin against its pure core, case by case (testing/live-edge-cases.ts),
 * on the ClickHouse engine over rows as the sink writes them. Each case is one stream with source
 * partitions of its own, an hour after the previous case. The SQL answers windows with rows or
 * carried figures (the core also lists a reached window where every figure is 0), so the series
 * are compared without zero points; "now" is compared as the core's newest point.
 */
const BASE = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 24 * 3_600_000;

describe('the live edge in SQL equals the pure core', () => {
  let store: AnalyticsStore;
  const at = (caseIndex: number, time: number) => BASE + caseIndex * 3_600_000 + (time - w(0));

  beforeAll(async () => {
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: testServices().clickhouseUrl,
      username: 'default',
      password: '',
      database: `edge_${randomUUID().replaceAll('-', '')}`,
    });
    await applyMigrations(store);
    for (const [index, [, sources]] of LIVE_EDGE_CASES.entries()) {
      const streamId = `case-${index}`;
      const partition = (s: number) => index * 10 + s;
      const rows = sources.flatMap((source, s) =>
        source.windows.map(([start, concurrent]) =>
          Object.assign(
            windowRowForClickHouse(
              {
                ...emptyRow({
                  property_id: 'p',
                  creator_id: 'c',
                  stream_id: streamId,
                  dimension: 'all',
                  dimension_value: '',
                  window_start: at(index, start),
                }),
                concurrent_views: concurrent,
              },
              partition(s),
              '1',
            ),
            { is_final: 0, emitted_at: dateTime64(BASE) },
          ),
        ),
      );
      if (rows.length > 0) await insertRows(store, { table: 'viewer_windows', rows, dedupToken: `edge-rows-${index}` });
      const marks = sources.flatMap((source, s) =>
        source.reached === undefined
          ? []
          : [
              watermarkRowForClickHouse({
                type: 'viewer_watermark',
                group: 'g',
                source_partition: partition(s),
                version: '1',
                emitted_at: BASE,
                watermark: at(index, source.reached) + 1,
                watermark_window_start: at(index, source.reached),
                closed_before: 0,
              }),
            ],
      );
      if (marks.length > 0)
        await insertRows(store, { table: 'viewer_source_watermarks', rows: marks, dedupToken: `edge-marks-${index}` });
    }
  });

  afterAll(async () => {
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store.close();
  });

  const select = async <T>(query: string) => (await store.client.query({ query, format: 'JSONEachRow' })).json<T>();
  const nonZero = (series: Array<[number, number]>) => series.filter(([, viewers]) => viewers > 0);

  it.each(LIVE_EDGE_CASES.map((c, index) => [c[0], index] as const))('%s', async (_name, index) => {
    const [, sources] = LIVE_EDGE_CASES[index]!;
    const expected = liveEdgeSeries(
      sources.map((source) => ({
        windows: source.windows.map(([start, n]) => [at(index, start), n] as const),
        reached: source.reached === undefined ? undefined : at(index, source.reached),
      })),
    );
    const filter = `dimension = 'all' AND stream_id = 'case-${index}'`;
    const newest = expected.at(-1)?.[0] ?? -Infinity;
    const series = (
      await select<{ window_start: string; viewers: string }>(
        `SELECT toUnixTimestamp(window_start) * 1000 AS window_start, viewers FROM (${liveEdgeViewersSql(filter)}) ORDER BY window_start`,
      )
    )
      .map((r): [number, number] => [Number(r.window_start), Number(r.viewers)])
      // Later cases' partitions reach later windows; this case's carried figures show there too.
      .filter(([start]) => start <= newest);
    expect(nonZero(series)).toEqual(nonZero(expected));
    const [now] = await select<{ concurrent_viewers: string }>(liveEdgeNowSql(filter));
    expect(Number(now!.concurrent_viewers)).toBe(expected.at(-1)?.[1] ?? 0);
  });
});
