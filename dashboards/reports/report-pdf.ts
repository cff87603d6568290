import PDFDocument from 'pdfkit';
import type { CreatorReportRow } from '../../core/analytics/metric-queries.ts';
import { labelledIndexes, largestInOrder, niceScale } from './chart-scale.ts';
import type { CreatorReportSummary } from './report-data.ts';
import {
  averageViewDurationMs,
  formatCount,
  formatDateTime,
  formatDay,
  formatDuration,
  formatHours,
  formatPercentage,
  formatPeriod,
} from './report-format.ts';

/**
 * The creator report as a PDF one would send a creator: title and period, headline numbers,
 * four vector charts (concurrent viewers over time, watch time per stream, startup time and
 * rebuffering per stream, chat per day), a table of streams, top clips with their thumbnails and
 * a moderation summary. Built from the bounded summary and per-stream rows; pdfkit streams the
 * bytes out as pages complete.
 */

const PAGE = { width: 595.28, height: 841.89, margin: 48 };
const CONTENT_WIDTH = PAGE.width - 2 * PAGE.margin;
const COLORS = {
  ink: '#1d2433',
  muted: '#6b7385',
  grid: '#e3e6ee',
  accent: '#5b4fe0',
  accentSoft: '#cfcaf8',
  teal: '#129c8f',
  amber: '#e0912b',
  rose: '#d6456b',
};
/** Bars per chart and rows in the stream table; the CSV and JSON reports have every stream. */
const MAX_BARS = 30;
const MAX_TABLE_ROWS = 40;

export interface PdfInputs {
  summary: CreatorReportSummary;
  streams: CreatorReportRow[];
  /** JPEG thumbnails of the top clips, by clip id; a clip without one is listed without a picture. */
  thumbnails: Map<string, Buffer>;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

type Doc = PDFKit.PDFDocument;

function heading(doc: Doc, text: string, y?: number): void {
  doc
    .font('Helvetica-Bold')
    .fontSize(13)
    .fillColor(COLORS.ink)
    .text(text, PAGE.margin, y ?? doc.y, { width: CONTENT_WIDTH });
  doc.moveDown(0.4);
}

function ensureSpace(doc: Doc, height: number): void {
  if (doc.y + height > PAGE.height - PAGE.margin) doc.addPage();
}

function headlineTiles(doc: Doc, tiles: Array<[string, string]>): void {
  const columns = 4;
  const gap = 8;
  const width = (CONTENT_WIDTH - gap * (columns - 1)) / columns;
  const height = 50;
  const top = doc.y;
  tiles.forEach(([label, value], i) => {
    const x = PAGE.margin + (i % columns) * (width + gap);
    const y = top + Math.floor(i / columns) * (height + gap);
    doc.roundedRect(x, y, width, height, 6).fill('#f4f3fe');
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor(COLORS.muted)
      .text(label.toUpperCase(), x + 8, y + 8, { width: width - 16 });
    doc
      .font('Helvetica-Bold')
      .fontSize(15)
      .fillColor(COLORS.ink)
      .text(value, x + 8, y + 24, { width: width - 16 });
  });
  doc.y = top + Math.ceil(tiles.length / columns) * (height + gap) + 6;
  doc.x = PAGE.margin;
}

/** Axes, gridlines and tick labels; returns the plotting area and the scale. */
function axes(doc: Doc, box: Box, dataMax: number, formatTick: (value: number) => string) {
  const scale = niceScale(dataMax);
  const plot = { x: box.x + 44, y: box.y + 6, width: box.width - 50, height: box.height - 26 };
  doc.lineWidth(0.5);
  for (const tick of scale.ticks) {
    const y = plot.y + plot.height - (tick / scale.max) * plot.height;
    doc
      .moveTo(plot.x, y)
      .lineTo(plot.x + plot.width, y)
      .strokeColor(COLORS.grid)
      .stroke();
    doc
      .font('Helvetica')
      .fontSize(7)
      .fillColor(COLORS.muted)
      .text(formatTick(tick), box.x, y - 3.5, { width: 40, align: 'right' });
  }
  const yOf = (value: number) => plot.y + plot.height - (Math.max(0, value) / scale.max) * plot.height;
  return { plot, yOf };
}

function emptyChart(doc: Doc, box: Box, message: string): void {
  doc.rect(box.x, box.y, box.width, box.height).lineWidth(0.5).strokeColor(COLORS.grid).stroke();
  doc
    .font('Helvetica-Oblique')
    .fontSize(9)
    .fillColor(COLORS.muted)
    .text(message, box.x, box.y + box.height / 2 - 5, { width: box.width, align: 'center' });
}

function lineChart(
  doc: Doc,
  box: Box,
  points: Array<{ x: number; y: number }>,
  range: { from: number; to: number },
  formatTick: (value: number) => string,
): void {
  if (points.length === 0) return emptyChart(doc, box, 'No viewers in this period');
  const { plot, yOf } = axes(doc, box, Math.max(...points.map((p) => p.y)), formatTick);
  const xOf = (t: number) => plot.x + ((t - range.from) / Math.max(1, range.to - range.from)) * plot.width;
  // Filled area under the curve, then the curve; gaps between streams drop to zero.
  doc.moveTo(xOf(points[0]!.x), yOf(0));
  for (const p of points) doc.lineTo(xOf(p.x), yOf(p.y));
  doc
    .lineTo(xOf(points.at(-1)!.x), yOf(0))
    .closePath()
    .fillOpacity(0.25)
    .fill(COLORS.accent)
    .fillOpacity(1);
  doc.moveTo(xOf(points[0]!.x), yOf(points[0]!.y));
  for (const p of points.slice(1)) doc.lineTo(xOf(p.x), yOf(p.y));
  doc.lineWidth(1.2).strokeColor(COLORS.accent).stroke();
  const days = Math.max(1, Math.round((range.to - range.from) / 86_400_000));
  const labels = Math.min(6, days + 1);
  for (let i = 0; i < labels; i++) {
    const t = range.from + ((range.to - range.from) * i) / Math.max(1, labels - 1);
    const text = days > 2 ? formatDay(t).slice(5) : formatDateTime(t).slice(11, 16);
    doc
      .font('Helvetica')
      .fontSize(7)
      .fillColor(COLORS.muted)
      .text(text, xOf(t) - 20, plot.y + plot.height + 5, { width: 40, align: 'center' });
  }
}

function barChart(
  doc: Doc,
  box: Box,
  bars: Array<{ label: string; value: number | null }>,
  color: string,
  formatTick: (value: number) => string,
): void {
  const values = bars.map((b) => b.value ?? 0);
  if (bars.length === 0 || Math.max(...values) <= 0) return emptyChart(doc, box, 'No data in this period');
  const { plot, yOf } = axes(doc, box, Math.max(...values), formatTick);
  const slot = plot.width / bars.length;
  const width = Math.max(1, Math.min(28, slot * 0.7));
  bars.forEach((bar, i) => {
    if (bar.value === null || bar.value <= 0) return;
    const x = plot.x + i * slot + (slot - width) / 2;
    doc.rect(x, yOf(bar.value), width, yOf(0) - yOf(bar.value)).fill(color);
  });
  for (const i of labelledIndexes(bars.length, Math.floor(plot.width / 42))) {
    doc
      .font('Helvetica')
      .fontSize(6.5)
      .fillColor(COLORS.muted)
      .text(bars[i]!.label, plot.x + i * slot + slot / 2 - 21, plot.y + plot.height + 5, {
        width: 42,
        align: 'center',
        lineBreak: false,
      });
  }
}

function chartBlock(
  doc: Doc,
  title: string,
  subtitle: string,
  draw: (box: Box) => void,
  height = 150,
  width = CONTENT_WIDTH,
  x = PAGE.margin,
): void {
  const top = doc.y;
  doc.font('Helvetica-Bold').fontSize(10.5).fillColor(COLORS.ink).text(title, x, top, { width });
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor(COLORS.muted)
    .text(subtitle, x, top + 14, { width });
  draw({ x, y: top + 30, width, height });
  doc.x = PAGE.margin;
  doc.y = top + 30 + height + 24;
}

interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

function table(doc: Doc, columns: Column[], rows: string[][]): void {
  const rowHeight = 15;
  const drawHeader = () => {
    let x = PAGE.margin;
    const y = doc.y;
    for (const column of columns) {
      doc
        .font('Helvetica-Bold')
        .fontSize(7.5)
        .fillColor(COLORS.muted)
        .text(column.title, x + 3, y + 3, { width: column.width - 6, align: column.align ?? 'left', lineBreak: false });
      x += column.width;
    }
    doc
      .moveTo(PAGE.margin, y + rowHeight)
      .lineTo(PAGE.margin + CONTENT_WIDTH, y + rowHeight)
      .lineWidth(0.6)
      .strokeColor(COLORS.muted)
      .stroke();
    doc.y = y + rowHeight;
  };
  drawHeader();
  rows.forEach((cells, r) => {
    if (doc.y + rowHeight > PAGE.height - PAGE.margin) {
      doc.addPage();
      drawHeader();
    }
    const y = doc.y;
    if (r % 2 === 1) doc.rect(PAGE.margin, y, CONTENT_WIDTH, rowHeight).fill('#f7f8fb');
    let x = PAGE.margin;
    columns.forEach((column, c) => {
      doc
        .font('Helvetica')
        .fontSize(7.5)
        .fillColor(COLORS.ink)
        .text(cells[c] ?? '', x + 3, y + 4, {
          width: column.width - 6,
          align: column.align ?? 'left',
          lineBreak: false,
          ellipsis: true,
        });
      x += column.width;
    });
    doc.y = y + rowHeight;
  });
  doc.x = PAGE.margin;
  doc.moveDown(0.8);
}

function streamLabel(row: CreatorReportRow): string {
  return row.first_window > 0 ? formatDay(row.first_window).slice(5) : row.key.slice(0, 8);
}

function topClips(doc: Doc, summary: CreatorReportSummary, thumbnails: Map<string, Buffer>): void {
  heading(doc, 'Top clips');
  if (summary.top_clips.length === 0) {
    doc.font('Helvetica').fontSize(9).fillColor(COLORS.muted).text('No clips were made in this period.', PAGE.margin);
    doc.moveDown(0.8);
    return;
  }
  const thumb = { width: 96, height: 54 };
  for (const [i, clip] of summary.top_clips.entries()) {
    ensureSpace(doc, thumb.height + 10);
    const y = doc.y;
    const picture = thumbnails.get(clip.clip_id);
    if (picture) {
      doc.image(picture, PAGE.margin, y, { fit: [thumb.width, thumb.height], align: 'center', valign: 'center' });
    } else {
      doc.rect(PAGE.margin, y, thumb.width, thumb.height).fill('#eceef4');
      doc
        .font('Helvetica')
        .fontSize(7)
        .fillColor(COLORS.muted)
        .text('no thumbnail', PAGE.margin, y + thumb.height / 2 - 4, { width: thumb.width, align: 'center' });
    }
    const x = PAGE.margin + thumb.width + 12;
    const width = CONTENT_WIDTH - thumb.width - 12;
    doc
      .font('Helvetica-Bold')
      .fontSize(9.5)
      .fillColor(COLORS.ink)
      .text(`${i + 1}. ${clip.reasons.length > 0 ? clip.reasons.join(', ') : 'Clip'}`, x, y + 2, {
        width,
        lineBreak: false,
        ellipsis: true,
      });
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor(COLORS.muted)
      .text(
        `Stream ${clip.stream_id} · ${formatDateTime(clip.window_start)} · ${formatDuration(clip.duration_ms)} · highlight score ${clip.score.toFixed(1)}`,
        x,
        y + 17,
        { width, lineBreak: false, ellipsis: true },
      );
    doc
      .font('Helvetica')
      .fontSize(7.5)
      .fillColor(COLORS.muted)
      .text(clip.clip_id, x, y + 31, { width, lineBreak: false });
    doc.y = y + thumb.height + 8;
  }
  doc.x = PAGE.margin;
  doc.moveDown(0.5);
}

function moderation(doc: Doc, summary: CreatorReportSummary): void {
  heading(doc, 'Moderation');
  const totals = summary.totals;
  const enforced = totals?.enforcement_actions ?? 0;
  const messages = totals?.chat_messages ?? 0;
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor(COLORS.ink)
    .text(
      messages === 0 && summary.moderation.length === 0
        ? 'There was no chat in this period.'
        : `${formatCount(totals?.moderation_actions ?? 0)} moderation events, of which ${formatCount(enforced)} removed a message or restricted a user ` +
            `(${formatPercentage(messages > 0 ? (100 * enforced) / messages : null)} of ${formatCount(messages)} chat messages).`,
      PAGE.margin,
      doc.y,
      { width: CONTENT_WIDTH },
    );
  doc.moveDown(0.5);
  if (summary.moderation.length > 0) {
    table(
      doc,
      [
        { title: 'Action', width: 160 },
        { title: 'Decided by', width: 160 },
        { title: 'Count', width: 80, align: 'right' },
      ],
      summary.moderation.map((m) => [m.action, m.source, formatCount(m.count)]),
    );
  }
}

export function renderCreatorReportPdf({ summary, streams, thumbnails }: PdfInputs): PDFKit.PDFDocument {
  const period = formatPeriod(summary.period.from, summary.period.to);
  const doc = new PDFDocument({
    size: 'A4',
    margin: PAGE.margin,
    bufferPages: false,
    info: {
      Title: `Creator performance report: ${summary.creator_id}, ${period}`,
      Author: 'Livepulse',
      Subject: 'Creator performance report',
    },
  });

  doc.rect(0, 0, PAGE.width, 86).fill(COLORS.accent);
  doc
    .font('Helvetica-Bold')
    .fontSize(22)
    .fillColor('#ffffff')
    .text('Creator performance report', PAGE.margin, 26, { width: CONTENT_WIDTH });
  doc
    .font('Helvetica')
    .fontSize(10.5)
    .fillColor('#ffffff')
    .text(`${summary.creator_id}  ·  ${period}`, PAGE.margin, 54, { width: CONTENT_WIDTH });
  doc.y = 104;
  doc.x = PAGE.margin;

  const t = summary.totals;
  if (!t) {
    doc
      .font('Helvetica')
      .fontSize(11)
      .fillColor(COLORS.ink)
      .text(`No streams had viewers between ${period}.`, PAGE.margin, doc.y, { width: CONTENT_WIDTH });
    doc.end();
    return doc;
  }
  doc
    .font('Helvetica')
    .fontSize(9.5)
    .fillColor(COLORS.ink)
    .text(
      `${formatCount(summary.streams.length)} streams reached ${formatCount(t.engagement.unique_viewers)} unique viewers, who watched ${formatHours(t.engagement.watch_ms)} in total. ` +
        `At the busiest moment ${formatCount(t.peak_concurrent_views)} people were watching at once.`,
      { width: CONTENT_WIDTH },
    );
  doc.moveDown(0.6);
  headlineTiles(doc, [
    ['Streams', formatCount(summary.streams.length)],
    ['Peak concurrent', formatCount(t.peak_concurrent_views)],
    ['Average concurrent', formatCount(t.average_concurrent_views)],
    ['Watch time', formatHours(t.engagement.watch_ms)],
    ['Unique viewers', formatCount(t.engagement.unique_viewers)],
    ['Avg view duration', formatDuration(averageViewDurationMs(t))],
    ['Median startup', formatDuration(t.qoe.startup_time_p50_ms)],
    ['Rebuffering', formatPercentage(t.qoe.rebuffer_percentage)],
    ['Views', formatCount(t.engagement.views)],
    ['Chat messages', formatCount(t.chat_messages)],
    ['Chatters', formatCount(t.chatters)],
    ['Clips', formatCount(t.clips)],
  ]);

  const step =
    summary.concurrency.length > 1 ? summary.concurrency[1]!.period_start - summary.concurrency[0]!.period_start : 0;
  chartBlock(doc, 'Concurrent viewers over time', `Peak per ${stepName(step)}, all streams together`, (box) =>
    lineChart(
      doc,
      box,
      withGaps(summary.concurrency.map((p) => ({ x: p.period_start, y: p.peak_concurrent_views }))),
      summary.period,
      formatCount,
    ),
  );

  const charted = largestInOrder(streams, MAX_BARS, (s) => s.engagement.watch_ms);
  const more = streams.length > charted.length ? ` (the ${charted.length} with the most watch time)` : '';
  chartBlock(doc, 'Watch time per stream', `Hours watched, by stream start date${more}`, (box) =>
    barChart(
      doc,
      box,
      charted.map((s) => ({ label: streamLabel(s), value: s.engagement.watch_ms / 3_600_000 })),
      COLORS.teal,
      (v) => `${formatCount(v)} h`,
    ),
  );

  doc.addPage();
  const half = (CONTENT_WIDTH - 16) / 2;
  const top = doc.y;
  chartBlock(
    doc,
    'Startup time per stream',
    'Median time to first frame',
    (box) =>
      barChart(
        doc,
        box,
        charted.map((s) => ({
          label: streamLabel(s),
          value: s.qoe.startup_time_p50_ms === null ? null : s.qoe.startup_time_p50_ms / 1_000,
        })),
        COLORS.amber,
        (v) => `${v} s`,
      ),
    130,
    half,
  );
  doc.y = top;
  chartBlock(
    doc,
    'Rebuffering per stream',
    'Share of watch time spent rebuffering',
    (box) =>
      barChart(
        doc,
        box,
        charted.map((s) => ({ label: streamLabel(s), value: s.qoe.rebuffer_percentage })),
        COLORS.rose,
        (v) => `${v} %`,
      ),
    130,
    half,
    PAGE.margin + half + 16,
  );

  chartBlock(
    doc,
    'Chat activity',
    'Messages per day',
    (box) =>
      barChart(
        doc,
        box,
        summary.chat_by_day.map((d) => ({ label: formatDay(d.day).slice(5), value: d.messages })),
        COLORS.accent,
        formatCount,
      ),
    120,
  );

  heading(doc, 'Streams');
  const listed = streams.slice(0, MAX_TABLE_ROWS);
  table(
    doc,
    [
      { title: 'Started (UTC)', width: 62 },
      { title: 'Stream', width: 98 },
      { title: 'Peak', width: 38, align: 'right' },
      { title: 'Average', width: 42, align: 'right' },
      { title: 'Watch time', width: 56, align: 'right' },
      { title: 'Uniques', width: 58, align: 'right' },
      { title: 'Avg view', width: 56, align: 'right' },
      { title: 'Rebuffering', width: 50, align: 'right' },
      { title: 'Chat', width: 38, align: 'right' },
    ],
    listed.map((s) => [
      s.first_window > 0 ? formatDateTime(s.first_window).slice(5, 16) : '—',
      s.key,
      formatCount(s.peak_concurrent_views),
      formatCount(s.average_concurrent_views),
      formatHours(s.engagement.watch_ms),
      formatCount(s.engagement.unique_viewers),
      formatDuration(averageViewDurationMs(s)),
      formatPercentage(s.qoe.rebuffer_percentage),
      formatCount(s.chat_messages),
    ]),
  );
  if (streams.length > listed.length) {
    doc
      .font('Helvetica-Oblique')
      .fontSize(8)
      .fillColor(COLORS.muted)
      .text(`…and ${streams.length - listed.length} more streams: the CSV report lists every one.`, PAGE.margin);
    doc.moveDown(0.8);
  }

  ensureSpace(doc, 120);
  topClips(doc, summary, thumbnails);
  ensureSpace(doc, 100);
  moderation(doc, summary);

  doc
    .font('Helvetica')
    .fontSize(7)
    .fillColor(COLORS.muted)
    .text(
      `Generated by Livepulse on ${formatDateTime(summary.generated_at)}. Viewer figures come from ${summary.period.resolution} rollups; unique viewers are estimated (about 1 % error). ` +
        'Engagement counts views that started in the period, quality (startup, rebuffering) views that ended in it.',
      PAGE.margin,
      doc.y + 6,
      { width: CONTENT_WIDTH },
    );
  doc.end();
  return doc;
}

function stepName(stepMs: number): string {
  if (stepMs >= 86_400_000) return 'day';
  if (stepMs >= 3_600_000) return 'hour';
  return stepMs > 60_000 ? `${Math.round(stepMs / 60_000)} minutes` : 'minute';
}

/** Drops the curve to zero between intervals that are not adjacent, so separate streams do not look joined. */
function withGaps(points: Array<{ x: number; y: number }>): Array<{ x: number; y: number }> {
  if (points.length < 2) return points;
  const step = Math.min(...points.slice(1).map((p, i) => p.x - points[i]!.x));
  const out: Array<{ x: number; y: number }> = [];
  points.forEach((p, i) => {
    const previous = points[i - 1];
    if (previous && p.x - previous.x > step) out.push({ x: previous.x + step, y: 0 }, { x: p.x - step, y: 0 });
    out.push(p);
  });
  return out;
}
