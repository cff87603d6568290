import type { CreatorReportRow, CreatorStream } from '../../core/analytics/metric-queries.ts';

/**
 * How report figures read: as CSV cells (machine-readable, safe to open in a spreadsheet) and as
 * text for people (the PDF). Pure and table-tested.
 */

type Cell = string | number | null;

export interface ReportColumn {
  name: string;
  value(row: CreatorReportRow, stream: Pick<CreatorStream, 'property_id'> | null): Cell;
}

const isoOrNull = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

/** One column per figure; CSV reports have these in this order, after `row` and `stream_id`. */
export const REPORT_COLUMNS: ReportColumn[] = [
  { name: 'property_id', value: (_r, s) => s?.property_id ?? null },
  { name: 'first_window', value: (r) => isoOrNull(r.first_window) },
  { name: 'last_window', value: (r) => isoOrNull(r.last_window) },
  { name: 'peak_concurrent_viewers', value: (r) => r.peak_concurrent_views },
  { name: 'average_concurrent_viewers', value: (r) => r.average_concurrent_views },
  { name: 'views', value: (r) => r.engagement.views },
  { name: 'unique_viewers', value: (r) => r.engagement.unique_viewers },
  { name: 'watch_time_ms', value: (r) => r.engagement.watch_ms },
  { name: 'average_view_duration_ms', value: (r) => averageViewDurationMs(r) },
  { name: 'startup_time_p50_ms', value: (r) => r.qoe.startup_time_p50_ms },
  { name: 'startup_time_p95_ms', value: (r) => r.qoe.startup_time_p95_ms },
  { name: 'rebuffer_percentage', value: (r) => r.qoe.rebuffer_percentage },
  { name: 'rebuffer_frequency_per_minute', value: (r) => r.qoe.rebuffer_frequency_per_minute },
  { name: 'playback_failure_percentage', value: (r) => r.qoe.playback_failure_percentage },
  { name: 'chat_messages', value: (r) => r.chat_messages },
  { name: 'chatters', value: (r) => r.chatters },
  { name: 'moderation_actions', value: (r) => r.moderation_actions },
  { name: 'enforcement_actions', value: (r) => r.enforcement_actions },
  { name: 'clips', value: (r) => r.clips },
];

export const CSV_HEADER = ['row', 'stream_id', ...REPORT_COLUMNS.map((c) => c.name)];

/** Watch time ÷ views (Mux's "view duration"); null without views. */
export function averageViewDurationMs(row: Pick<CreatorReportRow, 'engagement'>): number | null {
  return row.engagement.views > 0 ? row.engagement.watch_ms / row.engagement.views : null;
}

/**
 * One RFC 4180 cell. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first)
 * gets a leading apostrophe: stream ids are chosen by clients and may start with `=` or `+`.
 */
export function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) || guarded !== guarded.trim() ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

export function csvLine(cells: Cell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvRow(
  kind: 'stream' | 'total',
  row: CreatorReportRow,
  stream: Pick<CreatorStream, 'property_id'> | null,
): string {
  return csvLine([kind, kind === 'stream' ? row.key : null, ...REPORT_COLUMNS.map((c) => c.value(row, stream))]);
}

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(value: number): string {
  return GROUPED.format(Math.round(value));
}

/** "3 h 05 min", "4 min 05 s", "42 s", "850 ms"; "—" for no value. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${formatCount(Math.floor(minutes / 60))} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Watch time in hours, the unit creators think in: "1,234.5 h". */
export function formatHours(ms: number): string {
  return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(ms / 3_600_000)} h`;
}

export function formatPercentage(value: number | null, digits = 2): string {
  return value === null || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)} %`;
}

export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function formatDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The period as people say it: the end is exclusive, so a report to 2026-07-01 00:00 ends on June 30. */
export function formatPeriod(from: number, to: number): string {
  const midnight = (ms: number) => ms % 86_400_000 === 0;
  if (midnight(from) && midnight(to)) return `${formatDay(from)} to ${formatDay(to - 86_400_000)}`;
  return `${formatDateTime(from)} to ${formatDateTime(to)}`;
}
