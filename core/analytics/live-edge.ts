/**
 * Concurrent viewers at the live edge, from per-source-partition window rows. A stream's views
 * are spread over the processor's source partitions, and each partition reports a window when its
 * own watermark reaches it: at a window boundary some have reported the new window and others
 * not yet (an idle partition moves on only `ANALYTICS_IDLE_ADVANCE_MS` later). Summing only the
 * rows present for the newest window would count the partitions still behind as empty.
 *
 * So a source that has not reached a window counts with its figure from the newest window it has
 * reached (carried forward), and a source that has reached a window without a row for the stream
 * there has no views of it (0). How far a source has reached comes from its `viewer_watermark`
 * messages (aggregate-messages.ts). A source whose watermark is unknown (rows from before
 * watermarks were published) is not carried forward: its figure after its newest row is unknown,
 * and carrying it could hold up views that ended long ago.
 *
 * The same rule runs here (live board, highlight detector) and in SQL (`liveEdgeConcurrencySql`,
 * the Grafana "now" panels and the creator report).
 */
export interface SourceWindows {
  /** [window start (epoch ms), concurrent views, …] of one source partition for one stream. */
  windows: ReadonlyArray<readonly [start: number, concurrent: number, ...rest: unknown[]]>;
  /** Start of the window the source's watermark is in, when known. */
  reached?: number | undefined;
}

interface ResolvedSource {
  counts: Map<number, number>;
  reached: number;
  carried: boolean;
}

function resolve(sources: Iterable<SourceWindows>): ResolvedSource[] {
  const resolved: ResolvedSource[] = [];
  for (const source of sources) {
    const counts = new Map<number, number>();
    let reached = source.reached ?? -Infinity;
    for (const [start, concurrent] of source.windows) {
      counts.set(start, concurrent);
      if (start > reached) reached = start;
    }
    if (reached !== -Infinity) resolved.push({ counts, reached, carried: source.reached !== undefined });
  }
  return resolved;
}

/** The source's figure for window `start`: its row there, or, when it has not reached `start`, its newest figure. */
function figureAt(source: ResolvedSource, start: number): number {
  if (start <= source.reached) return source.counts.get(start) ?? 0;
  return source.carried ? (source.counts.get(source.reached) ?? 0) : 0;
}

/**
 * The stream's concurrent viewers per window, oldest first: every window some source has a row
 * for or has reached, up to the newest reached, each the sum of the sources' figures for it.
 */
export function liveEdgeSeries(sources: Iterable<SourceWindows>): Array<[number, number]> {
  const resolved = resolve(sources);
  const starts = new Set<number>();
  for (const source of resolved) {
    starts.add(source.reached);
    for (const start of source.counts.keys()) starts.add(start);
  }
  return [...starts]
    .sort((a, b) => a - b)
    .map((start) => [start, resolved.reduce((total, source) => total + figureAt(source, start), 0)]);
}

/** The newest point of {@link liveEdgeSeries} at or before `atMs`, or undefined when there is none. */
export function liveEdgeAt(sources: Iterable<SourceWindows>, atMs: number): [number, number] | undefined {
  let found: [number, number] | undefined;
  for (const point of liveEdgeSeries(sources)) if (point[0] <= atMs) found = point;
  return found;
}

/**
 * The same rule in SQL, over `viewer_windows` and `viewer_source_watermarks` (migration 0055):
 * viewers per window and `key` (a column of viewer_windows, e.g. stream_id), for the rows matching
 * `filter`. The rows of each source partition are summed as they are; a source whose newest row is
 * at the window it has reached (it still has views) is carried, with that row's figure, into every
 * later window of the result. Sources with no watermark row are not carried (see above).
 */
function liveEdgeWith(filter: string, key: string): string {
  return `WITH
  edge_rows AS (SELECT window_start, ${key} AS edge_key, source_partition, concurrent_views FROM viewer_windows FINAL WHERE ${filter}),
  edge_sources AS (SELECT source_partition, max(watermark_window_start) AS reached FROM viewer_source_watermarks FINAL GROUP BY source_partition),
  edge_windows AS (SELECT DISTINCT window_start FROM edge_rows
                   UNION DISTINCT SELECT reached AS window_start FROM edge_sources WHERE reached >= (SELECT min(window_start) FROM edge_rows)),
  edge_carried AS (SELECT r.edge_key AS edge_key, max(r.window_start) AS newest_row, any(s.reached) AS reached, argMax(r.concurrent_views, r.window_start) AS figure
                   FROM edge_rows AS r INNER JOIN edge_sources AS s ON s.source_partition = r.source_partition
                   GROUP BY r.edge_key, r.source_partition HAVING newest_row >= reached AND figure > 0),
  edge_viewers AS (SELECT window_start, edge_key, sum(viewers) AS viewers FROM (
                     SELECT window_start, edge_key, concurrent_views AS viewers FROM edge_rows
                     UNION ALL
                     SELECT w.window_start AS window_start, c.edge_key AS edge_key, c.figure AS viewers FROM edge_carried AS c CROSS JOIN edge_windows AS w WHERE w.window_start > c.newest_row)
                   GROUP BY window_start, edge_key)`;
}

/** Viewers per window and key at the live edge: `(window_start, key, viewers)`, one row per window and key that has rows or carried figures. */
export function liveEdgeViewersSql(filter: string, key = 'stream_id'): string {
  return `${liveEdgeWith(filter, key)}
SELECT window_start, edge_key AS ${key}, viewers FROM edge_viewers`;
}

/** The viewers of every key together in the newest window of the live edge (one row, `concurrent_viewers`; 0 when nobody watches). */
export function liveEdgeNowSql(filter: string): string {
  return `${liveEdgeWith(filter, 'stream_id')}
SELECT toUInt64(sumIf(viewers, window_start = (SELECT max(window_start) FROM edge_windows))) AS concurrent_viewers FROM edge_viewers`;
}

/**
 * SQL: the smallest `column` of viewer_source_watermarks among the source partitions that reported
 * in the ten minutes before the newest report (a consumer group no longer running holds nothing
 * up); far in the future when none has reported (rows from before watermarks existed).
 */
const everySourceAt = (
  column: 'closed_before' | 'watermark_window_start',
) => `(SELECT ifNull(minOrNull(${column}), toDateTime(4294967295, 'UTC')) FROM viewer_source_watermarks FINAL
  WHERE emitted_at >= (SELECT max(emitted_at) FROM viewer_source_watermarks) - INTERVAL 10 MINUTE)`;

/**
 * SQL: the start of the oldest window some source partition has not closed yet (its final rows
 * not all published). Final-only figures (the creator report) stop before it, so a window counts
 * once every source has closed it, never with some partitions' finals missing.
 */
export const CLOSED_BY_EVERY_SOURCE_SQL = everySourceAt('closed_before');

/**
 * SQL: the start of the newest window every source partition has reached (its rows so far, early
 * ones included, all published). Per-window figures that cannot be carried forward (views started,
 * watch time, unique viewers: flows, not a state like concurrency) stop at it, so their newest
 * window never lacks the partitions that have not reached it yet (`GET /v1/streams/:id/metrics`).
 */
export const REACHED_BY_EVERY_SOURCE_SQL = everySourceAt('watermark_window_start');
