import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { assertMayReadCreator } from '../../core/http/api-auth.ts';
import type { Logger } from '../../core/logger.ts';
import type { ObjectStore } from '../../core/object-store/object-store.ts';
import type { CreatorReportRow } from '../../core/analytics/metric-queries.ts';
import { CreatorParams, CreatorReportQuery, ProblemAnswer, UnauthorizedAnswer } from './query-schemas.ts';
import { identityOf } from './stream-access.ts';
import { planCreatorReport } from '../../core/analytics/time-range.ts';
import { loadReportSummary, streamRows, type CreatorReportSummary } from '../reports/report-data.ts';
import { formatDay } from '../reports/report-format.ts';
import { renderCreatorReportPdf } from '../reports/report-pdf.ts';
import { csvReport, jsonReport } from '../reports/report-text.ts';

export interface ReportRouteOptions {
  analytics: AnalyticsStore;
  objectStore: Pick<ObjectStore, 'get'>;
  logger: Logger;
  now: () => number;
}

const CONTENT_TYPES = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  pdf: 'application/pdf',
} as const;
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

/** The top clips' posters that exist and are JPEG; a missing one is left out of the PDF, not fatal. */
async function clipThumbnails(
  objectStore: Pick<ObjectStore, 'get'>,
  summary: CreatorReportSummary,
  logger: Logger,
): Promise<Map<string, Buffer>> {
  const thumbnails = new Map<string, Buffer>();
  for (const clip of summary.top_clips) {
    if (!clip.thumbnail_key) continue;
    try {
      const image = await objectStore.get(clip.thumbnail_key);
      if (image.subarray(0, 3).equals(JPEG_MAGIC)) thumbnails.set(clip.clip_id, image);
    } catch (error) {
      logger.warn(
        { err: error, clip: clip.clip_id, key: clip.thumbnail_key },
        'clip thumbnail unavailable for a report',
      );
    }
  }
  return thumbnails;
}

/**
 * `GET /v1/creators/:id/report?from&to&format=json|csv|pdf`: a creator's performance over a
 * period (dashboards/reports). A creator token reads only its own creator; admins and analysts
 * any. JSON and CSV stream their per-stream rows from the store; the PDF is drawn from the
 * bounded summary and per-stream rows.
 */
export function creatorReportRoute(app: FastifyInstance, options: ReportRouteOptions): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: CreatorReportQuery }>(
    '/creators/:id/report',
    {
      schema: {
        summary: "A creator's performance report: streams, viewers, watch time, QoE, chat, clips and moderation",
        tags: ['reports'],
        params: CreatorParams,
        querystring: CreatorReportQuery,
        response: { 400: ProblemAnswer, 401: UnauthorizedAnswer, 403: ProblemAnswer },
      },
    },
    async (request, reply) => {
      const creatorId = request.params.id;
      assertMayReadCreator(identityOf(request), creatorId);
      const plan = planCreatorReport(request.query, options.now());
      const format = request.query.format ?? 'json';
      const summary = await loadReportSummary(options.analytics, creatorId, plan, options.now());
      const filename = `livepulse-${creatorId.replace(/[^A-Za-z0-9._-]/g, '_')}-${formatDay(plan.range.from)}-${formatDay(plan.range.to - 1)}.${format}`;
      reply.header('content-disposition', `attachment; filename="${filename}"`).type(CONTENT_TYPES[format]);

      if (format === 'pdf') {
        const streams: CreatorReportRow[] = [];
        for await (const row of streamRows(options.analytics, summary)) streams.push(row);
        const thumbnails = await clipThumbnails(options.objectStore, summary, options.logger);
        return reply.send(renderCreatorReportPdf({ summary, streams, thumbnails }));
      }
      const text =
        format === 'csv'
          ? csvReport(summary, streamRows(options.analytics, summary))
          : jsonReport(summary, streamRows(options.analytics, summary));
      return reply.send(Readable.from(text));
    },
  );
  return Promise.resolve();
}
