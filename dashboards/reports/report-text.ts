import type { CreatorReportRow } from '../../core/analytics/metric-queries.ts';
import type { CreatorReportSummary } from './report-data.ts';
import { CSV_HEADER, csvLine, csvRow } from './report-format.ts';

/**
 * CSV and JSON creator reports as a stream of text chunks: the bounded summary first, then one
 * chunk per stream as the rows arrive from the store, so a year of streams never sits in memory
 * as one document.
 */

/** Header, one line per stream, then a `total` line for all streams together. */
export async function* csvReport(
  summary: CreatorReportSummary,
  streamRows: AsyncIterable<CreatorReportRow>,
): AsyncGenerator<string> {
  yield csvLine(CSV_HEADER);
  const propertyOf = new Map(summary.streams.map((s) => [s.stream_id, s]));
  for await (const row of streamRows) yield csvRow('stream', row, propertyOf.get(row.key) ?? null);
  if (summary.totals) yield csvRow('total', summary.totals, null);
}

function streamJson(row: CreatorReportRow, propertyId: string | undefined): string {
  const { key, ...figures } = row;
  return JSON.stringify({ stream_id: key, property_id: propertyId ?? null, ...figures });
}

/** One JSON document; `streams` comes last so it can be written as its rows arrive. */
export async function* jsonReport(
  summary: CreatorReportSummary,
  streamRows: AsyncIterable<CreatorReportRow>,
): AsyncGenerator<string> {
  const { streams, ...head } = summary;
  const opening = JSON.stringify({ ...head, stream_count: streams.length });
  yield `${opening.slice(0, -1)},"streams":[`;
  const propertyOf = new Map(streams.map((s) => [s.stream_id, s.property_id]));
  let first = true;
  for await (const row of streamRows) {
    yield `${first ? '' : ','}\n${streamJson(row, propertyOf.get(row.key))}`;
    first = false;
  }
  yield '\n]}\n';
}
