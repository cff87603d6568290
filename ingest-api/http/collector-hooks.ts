import { PassThrough, type Readable } from 'node:stream';
import type { FastifyRequest, onRequestAsyncHookHandler, preParsingHookHandler } from 'fastify';
import type { Collector } from '../collector.ts';
import { bodyTimeout, originNotAllowed, unauthorized } from './ingest-errors.ts';
import { originAllowed, presentedWriteKey } from './write-keys.ts';

/**
 * Hooks shared by the collector routes: write-key authentication with the per-key origin
 * check, the slow-body deadline, and the per-request CORS answer.
 */
export function authenticateWriteKey(collector: Collector): onRequestAsyncHookHandler {
  return function authenticate(request) {
    const presented = presentedWriteKey(request.headers.authorization, queryKey(request));
    if (!presented.ok) return Promise.reject(unauthorized(presented.reason));
    const resolved = collector.writeKeys.resolve(presented.key);
    if (!resolved) return Promise.reject(unauthorized('unknown write key'));
    // CORS alone would not stop a text/plain beacon from another site: the request would still arrive.
    const origin = request.headers.origin;
    if (origin && !originAllowed(origin, resolved.allowedOrigins)) return Promise.reject(originNotAllowed(origin));
    request.ingestKey = resolved;
    return Promise.resolve();
  };
}

function queryKey(request: FastifyRequest): string | undefined {
  const key = (request.query as { key?: unknown } | undefined)?.key;
  return typeof key === 'string' ? key : undefined;
}

/**
 * A body must arrive within `timeoutMs`: a client trickling bytes (slowloris) gets a 408 and
 * the connection closed instead of holding a socket and a buffer indefinitely.
 */
export function bodyDeadline(timeoutMs: number): preParsingHookHandler {
  return function limitBodyTime(request, reply, payload, done) {
    if (request.method !== 'POST') {
      done(null, payload);
      return;
    }
    const limited = new PassThrough();
    const timer = setTimeout(() => limited.destroy(bodyTimeout(timeoutMs)), timeoutMs);
    const clear = () => clearTimeout(timer);
    // Answered without reading the body (401, 413 by Content-Length, 415): nothing waits for it any more.
    reply.raw.once('close', clear);
    limited.once('end', clear).once('close', clear);
    // The body parser listens for the timeout while it reads; once it stopped reading, nobody else must.
    limited.on('error', () => undefined);
    (payload as Readable).once('error', (error) => limited.destroy(error));
    payload.pipe(limited);
    done(null, limited);
  };
}

/** @fastify/cors options for one request: the origin is reflected only if the presented key allows it. */
export function corsOptionsFor(collector: Collector) {
  return (request: FastifyRequest, callback: (error: Error | null, options: object) => void) => {
    const origin = request.headers.origin;
    if (!origin) {
      callback(null, { origin: false });
      return;
    }
    const key = queryKey(request);
    const resolved = key ? collector.writeKeys.resolve(key) : undefined;
    // A preflight never carries the Authorization header's value, so without ?key= any key's origin may pass it.
    const allowed = resolved
      ? originAllowed(origin, resolved.allowedOrigins)
      : collector.writeKeys.anyKeyAllows(origin);
    callback(null, {
      origin: allowed,
      methods: ['POST'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['retry-after'],
      maxAge: 600,
    });
  };
}
