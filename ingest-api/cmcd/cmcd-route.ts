import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { publishDeadLetters, type DeadLetter } from '../../core/dead-letters.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import { TOPICS } from '../../core/topics.ts';
import type { Collector } from '../collector.ts';
import { clockOffsetMs, correctEventTime } from '../events/clock-skew.ts';
import { enrichPlayerEvent } from '../events/enrich-player-event.ts';
import { publishPlayerEvents } from '../events/publish-player-events.ts';
import { CmcdQuery, errorResponses } from '../http/api-schemas.ts';
import { authenticateWriteKey } from '../http/collector-hooks.ts';
import { IngestHttpError, retryShortly } from '../http/ingest-errors.ts';
import { MalformedBodyError } from '../http/strict-json.ts';
import { applyCmcdReport, namesViewer, sessionIdOf, VIEWER_ID_KEY } from './cmcd-session.ts';
import { CmcdSessionStore, SessionBusyError } from './cmcd-session-store.ts';
import { decodeCmcdReport, TooManyCmcdLinesError, type CmcdLine } from './decode-cmcd-report.ts';

/** Idle CMCD sessions are forgotten after this; a session back after longer gets a new view id. */
const SESSION_TTL_MS = 6 * 3_600_000;

interface Rejection {
  index: number;
  errors: FieldError[];
  raw: string;
}

/**
 * `POST /v1/cmcd?key=…`: CMCD v2 event-mode reports. A player pointed at this URL (hls.js
 * `cmcd.eventTargets`, Shaka, dash.js) shows up in the analytics with no SDK: each session's
 * reports become canonical player events with cumulative counters (see cmcd-session.ts).
 * 204 when done; 410 tells the player to stop reporting for the session (CTA-5004-B).
 */
export function cmcdRoute(app: FastifyInstance, { collector }: { collector: Collector }): Promise<void> {
  const { settings, ports, metrics, publishPorts } = collector;
  const sessions = new CmcdSessionStore(ports.liveState, { ttlMs: SESSION_TTL_MS });
  // hls.js event targets send only standard keys unless the target lists the custom key in `includeKeys`: say so, or unique viewers silently count sessions.
  const withoutViewer = ports.metrics.counter(
    'ingest_cmcd_reports_without_viewer_total',
    `CMCD report lines without the ${VIEWER_ID_KEY} key: their session id stands in for the viewer, so unique viewers count sessions`,
  );
  let warnedWithoutViewer = false;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/cmcd',
    { parseAs: 'buffer', bodyLimit: settings.maxBodyBytes },
    (_request, body, done) => {
      if (!isUtf8(body as Buffer)) done(new MalformedBodyError('body is not valid UTF-8'), undefined);
      else done(null, (body as Buffer).toString('utf8'));
    },
  );
  app.addHook('onRequest', authenticateWriteKey(collector));

  app.post(
    '/cmcd',
    {
      bodyLimit: settings.maxBodyBytes,
      config: { ingestRoute: 'cmcd' },
      schema: {
        summary: 'Send CMCD v2 event-mode reports',
        description:
          'Content-Type application/cmcd: one CMCD string per line (CTA-5004-B event mode). Lines are validated one by one; ' +
          'each session (sid) becomes a view with cumulative counters. 204 when stored; 410 means stop reporting for this session.',
        tags: ['player events'],
        security: [{ queryWriteKey: [] }, { bearerWriteKey: [] }],
        querystring: CmcdQuery,
        body: { type: 'string', description: 'Newline-separated CMCD v2 event reports' },
        response: {
          204: { type: 'null', description: 'Stored' },
          ...errorResponses([400, 401, 403, 408, 410, 413, 415, 503]),
        },
      },
    },
    async (request, reply) => {
      const receivedAt = Date.now();
      const propertyId = request.ingestKey!.propertyId;
      const { stream_id: fallbackStreamId } = request.query as { stream_id?: string };
      let report;
      try {
        report = decodeCmcdReport(request.body as string, settings.maxEventsPerRequest);
      } catch (error) {
        if (error instanceof TooManyCmcdLinesError) throw new IngestHttpError(413, 'too_many_events', error.message);
        throw error;
      }
      if (report.lines.length === 0 && report.rejected.length === 0)
        throw new IngestHttpError(400, 'malformed_body', 'the report has no lines');
      const anonymous = report.lines.filter((line) => !namesViewer(line.data)).length;
      if (anonymous > 0) {
        withoutViewer.inc(anonymous);
        if (!warnedWithoutViewer) {
          warnedWithoutViewer = true;
          ports.logger.warn(
            { propertyId },
            `CMCD reports arrive without the ${VIEWER_ID_KEY} key, so unique viewers count sessions; an hls.js event target sends it only when its includeKeys lists it (docs/player-integration.md). Counted in livepulse_ingest_cmcd_reports_without_viewer_total; warned once.`,
          );
        }
      }

      const rejected: Rejection[] = [...report.rejected];
      const bySession = new Map<string, CmcdLine[]>();
      for (const line of report.lines) {
        const session = sessionIdOf(line.data);
        if (!session.ok) rejected.push({ index: line.index, errors: [session.error], raw: line.raw });
        else bySession.set(session.sid, [...(bySession.get(session.sid) ?? []), line]);
      }

      const context = collector.requestContext(request, 'cmcd', receivedAt);
      const results = await Promise.all(
        [...bySession].map(([sid, lines]) =>
          sessions
            .withSession(`${propertyId}:${sid}`, async (stored) => {
              if (stored?.stopped) return { result: { gone: true, applied: 0 } };
              const update = applyCmcdReport(stored, lines, {
                propertyId,
                sid,
                fallbackStreamId,
                maxReportsPerSession: settings.cmcdMaxReportsPerSession,
              });
              const rawOf = new Map(lines.map((l) => [l.index, l.raw]));
              for (const r of update.rejected) rejected.push({ ...r, raw: rawOf.get(r.index) ?? '' });
              // CMCD has no sent_at; a device clock that is ahead is the one skew its own timestamps reveal.
              const newest = Math.max(...update.events.map((e) => e.viewer_time));
              const clock = {
                receivedAt,
                sentAt: newest > receivedAt ? newest : undefined,
                maxEventAgeMs: settings.maxEventAgeMs,
              };
              const offsetMs = clockOffsetMs(clock);
              const enriched = update.events.flatMap((event) => {
                const time = correctEventTime(event.viewer_time, clock, offsetMs);
                if (time.ok) return [enrichPlayerEvent(event, time.eventTime, context)];
                metrics.rejected.inc({ source: 'cmcd', reason: 'clock' });
                return [];
              });
              const outcome = await publishPlayerEvents(enriched, 'cmcd', publishPorts);
              if (outcome.inFlight > 0)
                throw retryShortly(
                  `${outcome.inFlight} events of this session are still being stored by an earlier request`,
                );
              const applied = lines.length - new Set(update.rejected.map((r) => r.index)).size - update.ignored;
              return { next: update.state, result: { gone: update.gone, applied } };
            })
            .catch((error: unknown) => {
              if (error instanceof SessionBusyError) throw retryShortly(error.message);
              throw error;
            }),
        ),
      );

      if (rejected.length > 0) {
        metrics.rejected.inc({ source: 'cmcd', reason: 'schema' }, rejected.length);
        metrics.deadLetters.inc({ source: 'cmcd' }, rejected.length);
        await publishDeadLetters(
          ports.bus,
          rejected.map((r) => deadLetterOf(r, propertyId)),
        );
      }
      if (results.length > 0 && results.every((r) => r.gone)) {
        metrics.rejected.inc({ source: 'cmcd', reason: 'session_gone' }, report.lines.length);
        throw new IngestHttpError(
          410,
          'session_gone',
          'this session has ended or sent more reports than a session may; stop reporting for it',
        );
      }
      if (results.every((r) => r.applied === 0) && rejected.length > 0) {
        const answer = rejected.sort((a, b) => a.index - b.index).map(({ index, errors }) => ({ index, errors }));
        throw new IngestHttpError(
          400,
          'no_valid_events',
          `none of the ${rejected.length} report lines is valid; see rejected`,
          { rejected: answer },
        );
      }
      return reply.code(204).send();
    },
  );
  return Promise.resolve();
}

function deadLetterOf(r: Rejection, propertyId: string): DeadLetter {
  return {
    sourceTopic: TOPICS.playerEvents,
    payload: Buffer.from(r.raw),
    reason: 'invalid CMCD report line',
    errors: r.errors,
    origin: `POST /v1/cmcd property=${propertyId} line=${r.index}`,
  };
}
