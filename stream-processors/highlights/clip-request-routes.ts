import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BusBackpressureError, BusUnavailableError, type Bus } from '../../core/bus/bus.ts';
import { canModerate, ChatTokenError, type ChatTokenVerifier } from '../../core/chat/chat-token.ts';
import { StreamStaff, type StaffRoster } from '../../core/chat/stream-staff.ts';
import {
  DEFAULT_SECONDS_AFTER,
  DEFAULT_SECONDS_BEFORE,
  InvalidClipRequestError,
  publishClipRequest,
} from '../../core/clips/clip-requests.ts';
import { CHAT_TOKEN_SECURITY, documentRoutes } from '../../core/http/openapi.ts';
import type { LiveState } from '../../core/live-state/live-state.ts';
import type { Highlight } from '../../core/schemas/highlight.ts';

/** `POST /v1/streams/:streamId/clips`: "clip that" over HTTP (core/clips/clip-requests.ts is the request itself). */
interface ClipRequestBody {
  seconds_before?: number;
  seconds_after?: number;
}

export interface ClipRequestRouteOptions {
  bus: Bus;
  liveState: LiveState;
  /** The streams' staff (the chat store's): moderators a host granted may ask too. */
  staffRoster: StaffRoster;
  /** The chat gateway's tokens: `roles` maps a stream id (or `*`) to viewer, moderator, host or admin. */
  tokens: ChatTokenVerifier;
  /** The clip id the clip worker will give the highlight, so the caller can poll its status. */
  clipIdOf: (highlight: Highlight) => string;
  /** Requests one user may make per stream per minute. */
  perUserPerMinute?: number;
  now?: () => number;
}

export function clipRequestRoutes(app: FastifyInstance, options: ClipRequestRouteOptions): Promise<void> {
  const { bus, liveState, staffRoster, tokens, clipIdOf, perUserPerMinute = 6, now = Date.now } = options;
  const staff = new StreamStaff(staffRoster);
  documentRoutes(app, { tags: ['clips'], security: CHAT_TOKEN_SECURITY });

  // Who asked, found before the body is read or validated: an unauthenticated caller learns nothing about the API.
  const callers = new WeakMap<FastifyRequest, string>();

  app.post<{ Params: { streamId: string }; Body: ClipRequestBody | undefined }>(
    '/streams/:streamId/clips',
    {
      schema: {
        summary: 'Ask for a clip of what just happened (hosts, moderators, admins)',
        tags: ['clips'],
        params: {
          type: 'object',
          properties: { streamId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@/+=-]+$' } },
          required: ['streamId'],
        },
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            seconds_before: { type: 'integer', minimum: 0, maximum: 60, default: DEFAULT_SECONDS_BEFORE },
            seconds_after: { type: 'integer', minimum: 0, maximum: 30, default: DEFAULT_SECONDS_AFTER },
          },
        },
      },
      onRequest: async (request, reply) => {
        const token = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
        let identity;
        try {
          identity = await tokens.verify(token);
        } catch (error) {
          if (error instanceof ChatTokenError)
            return reply.code(401).send({ error: 'unauthorized', message: error.message });
          throw error;
        }
        const { streamId } = request.params;
        // Hosts, moderators and admins: the roles that moderate the stream's chat, granted staff included.
        if (!canModerate(await staff.roleOf(identity, streamId)))
          return reply
            .code(403)
            .send({ error: 'forbidden', message: `clips of ${streamId} may be requested by its hosts and moderators` });
        callers.set(request, identity.userId);
      },
    },
    async (request, reply) => {
      const caller = callers.get(request)!;
      const { streamId } = request.params;
      const rate = await liveState.consumeRate(`clip-requests:${streamId}:${caller}`, perUserPerMinute, 60_000);
      if (!rate.allowed) {
        reply.header('retry-after', String(Math.ceil(rate.retryAfterMs / 1000)));
        return reply
          .code(429)
          .send({ error: 'too_many_requests', message: `at most ${perUserPerMinute} clip requests a minute` });
      }
      let highlight: Highlight;
      try {
        highlight = await publishClipRequest(bus, {
          streamId,
          requestedBy: caller,
          at: now(),
          secondsBefore: request.body?.seconds_before ?? DEFAULT_SECONDS_BEFORE,
          secondsAfter: request.body?.seconds_after ?? DEFAULT_SECONDS_AFTER,
        });
      } catch (error) {
        if (error instanceof InvalidClipRequestError)
          return reply.code(400).send({ error: 'invalid_request', message: error.message });
        if (error instanceof BusBackpressureError || error instanceof BusUnavailableError) {
          reply.header('retry-after', '2');
          return reply
            .code(503)
            .send({ error: 'unavailable', message: 'the request could not be stored; try again shortly' });
        }
        throw error;
      }
      const clipId = clipIdOf(highlight);
      return reply.code(202).send({
        highlight_id: highlight.highlight_id,
        clip_id: clipId,
        start: highlight.start,
        end: highlight.end,
        status_url: `/v1/clips/${clipId}`,
      });
    },
  );
  return Promise.resolve();
}
