import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BusBackpressureError, BusUnavailableError } from '../../core/bus/bus.ts';
import { PublishDeadlineError } from '../events/publish-player-events.ts';
import type { IngestMetrics, IngestRoute } from '../ingest-metrics.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import { MalformedBodyError } from './strict-json.ts';

/**
 * Whole-request problems, each with its status and a message naming the field or limit. The
 * error handler below turns these, fastify's own errors and the bus's errors into one answer
 * shape: `{statusCode, error, message}`.
 */
export class IngestHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: { retryAfterSeconds?: number; rejected?: RejectedAnswer[] } = {},
  ) {
    super(message);
    this.name = 'IngestHttpError';
  }
}

/** A rejected event or report line in an answer: where it was and what was wrong. */
export interface RejectedAnswer {
  index: number;
  errors: FieldError[];
}

export const unauthorized = (message: string) => new IngestHttpError(401, 'unauthorized', message);
export const originNotAllowed = (origin: string) =>
  new IngestHttpError(
    403,
    'origin_not_allowed',
    `origin ${origin} may not use this write key (see LIVEPULSE_WRITE_KEY_ORIGINS)`,
  );
export const bodyTimeout = (ms: number) =>
  new IngestHttpError(408, 'request_timeout', `request body not received within ${ms} ms`);
/** Something an earlier request is still doing must finish first; the client retries shortly. */
export const retryShortly = (message: string) => new IngestHttpError(503, 'retry', message, { retryAfterSeconds: 1 });

interface ErrorAnswer {
  statusCode: number;
  error: string;
  message: string;
  rejected?: RejectedAnswer[];
}

export interface ErrorHandlerOptions {
  route: (request: FastifyRequest) => IngestRoute | undefined;
  maxBodyBytes: number;
  maxEventsPerRequest: number;
  metrics: IngestMetrics;
}

/** Maps an error to the answer, the status and, for 503s, Retry-After and the metric cause. */
export function errorAnswer(
  error: unknown,
  limits: Pick<ErrorHandlerOptions, 'maxBodyBytes' | 'maxEventsPerRequest'>,
  contentType?: string,
) {
  const answer = (
    statusCode: number,
    code: string,
    message: string,
    extra: Partial<ErrorAnswer> = {},
  ): { body: ErrorAnswer; retryAfter?: number; cause?: string } => ({
    body: { statusCode, error: code, message, ...extra },
  });
  if (error instanceof IngestHttpError) {
    const result = answer(
      error.statusCode,
      error.code,
      error.message,
      error.extra.rejected ? { rejected: error.extra.rejected } : {},
    );
    return {
      ...result,
      retryAfter: error.extra.retryAfterSeconds,
      cause: error.statusCode === 503 ? error.code : undefined,
    };
  }
  if (error instanceof MalformedBodyError) return answer(400, 'malformed_body', error.reason);
  if (error instanceof BusBackpressureError) {
    return {
      ...answer(503, 'overloaded', 'the collector is buffering as much as it may; retry shortly'),
      retryAfter: 1,
      cause: 'backpressure',
    };
  }
  if (error instanceof PublishDeadlineError) {
    return {
      ...answer(503, 'bus_slow', `events were not stored within ${error.deadlineMs} ms; retry later`),
      retryAfter: 5,
      cause: 'publish_deadline',
    };
  }
  if (error instanceof BusUnavailableError) {
    return {
      ...answer(503, 'bus_unavailable', 'events cannot be stored right now; retry later'),
      retryAfter: 5,
      cause: 'bus_unavailable',
    };
  }
  const fastifyError = error as FastifyError & { validation?: Array<{ keyword: string; instancePath: string }> };
  if (fastifyError.validation) {
    const tooMany = fastifyError.validation.find((v) => v.keyword === 'maxItems' && v.instancePath === '/events');
    if (tooMany) return answer(413, 'too_many_events', `a batch carries at most ${limits.maxEventsPerRequest} events`);
    return answer(400, 'invalid_request', fastifyError.message);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, 'payload_too_large', `request body is larger than ${limits.maxBodyBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return answer(
        415,
        'unsupported_media_type',
        `content type ${JSON.stringify(contentType ?? '(none)')} is not accepted here (see the route in /docs)`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return answer(400, 'malformed_body', 'body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return answer(400, 'malformed_body', 'body length does not match Content-Length');
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return answer(fastifyError.statusCode, 'bad_request', fastifyError.message);
  }
  return answer(500, 'internal', 'internal error');
}

export function ingestErrorHandler(options: ErrorHandlerOptions) {
  return function handleIngestError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    const { body, retryAfter, cause } = errorAnswer(error, options, request.headers['content-type']);
    const route = options.route(request);
    if (body.statusCode >= 500 && !cause) request.log.error({ err: error, route }, 'collector request failed');
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    if (cause && route) options.metrics.unavailable.inc({ route, cause });
    return reply.code(body.statusCode).send(body);
  };
}
