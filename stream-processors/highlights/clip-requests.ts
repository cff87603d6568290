import type { FastifyInstance, FastifyRequest } from 'fastify';
import { canModerate, ChatTokenError, type ChatTokenVerifier } from '../../chat-gateway/chat-token.ts';
import { StreamStaff, type StaffRoster } from '../../chat-gateway/stream-staff.ts';
import { BusBackpressureError, BusUnavailableError, type Bus } from '../../core/bus/bus.ts';
import { CHAT_TOKEN_SECURITY, documentRoutes } from '../../core/http/openapi.ts';
import type { LiveState } from '../../core/live-state/live-state.ts';
import { highlightValidator, MAX_HIGHLIGHT_MS, type Highlight } from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { highlightId } from './spike-detector.ts';

/**
 * "Clip that": a host or moderator asks for a clip of what just happened. Like Twitch's Create
 * Clip (which captures up to 85 s before the call and 5 s after), the window reaches back from
 * the request; ours is at most 60 s. The chat gateway, which knows who holds which role, calls
 * `publishClipRequest` for a `!clip` command; others use `POST /v1/streams/:streamId/clips`.
 */
export interface ClipRequest {
  streamId: string;
  requestedBy: string;
  /** Server time of the request, epoch ms. */
  at: number;
  secondsBefore: number;
  secondsAfter: number;
}

export const DEFAULT_SECONDS_BEFORE = 25;
export const DEFAULT_SECONDS_AFTER = 5;

export class InvalidClipRequestError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidClipRequestError';
  }
}

/**
 * The highlight for a request. The window is aligned to whole seconds, so a host pressing the
 * button twice in a second asks for one clip, not two.
 */
export function requestedHighlight(request: ClipRequest): Highlight {
  const { streamId, requestedBy, secondsBefore, secondsAfter } = request;
  const durationMs = (secondsBefore + secondsAfter) * 1000;
  if (durationMs < 5_000 || durationMs > MAX_HIGHLIGHT_MS) throw new InvalidClipRequestError(`a clip is 5–60 s; ${secondsBefore} s before and ${secondsAfter} s after is ${durationMs / 1000} s`);
  const at = Math.floor(request.at / 1000) * 1000;
  const start = at - secondsBefore * 1000;
  const end = at + secondsAfter * 1000;
  const highlight: Highlight = {
    schema_v: 1,
    highlight_id: highlightId(streamId, start, end),
    stream_id: streamId,
    start,
    end,
    score: 0,
    reasons: ['requested'],
    requested_by: requestedBy,
    detected_at: request.at,
  };
  if (!highlightValidator.check(highlight)) {
    throw new InvalidClipRequestError(highlightValidator.errors(highlight).map((e) => `${e.path} ${e.message}`).join('; '));
  }
  return highlight;
}

export async function publishClipRequest(bus: Bus, request: ClipRequest): Promise<Highlight> {
  const highlight = requestedHighlight(request);
  await bus.publish(TOPICS.highlights, [{ key: highlight.stream_id, value: Buffer.from(JSON.stringify(highlight)) }]);
  return highlight;
}

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

export async function clipRequestRoutes(app: FastifyInstance, options: ClipRequestRouteOptions): Promise<void> {
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
        params: { type: 'object', properties: { streamId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@/+=-]+$' } }, required: ['streamId'] },
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
          if (error instanceof ChatTokenError) return reply.code(401).send({ error: 'unauthorized', message: error.message });
          throw error;
        }
        const { streamId } = request.params as { streamId: string };
        // Hosts, moderators and admins: the roles that moderate the stream's chat, granted staff included.
        if (!canModerate(await staff.roleOf(identity, streamId))) return reply.code(403).send({ error: 'forbidden', message: `clips of ${streamId} may be requested by its hosts and moderators` });
        callers.set(request, identity.userId);
      },
    },
    async (request, reply) => {
      const caller = callers.get(request)!;
      const { streamId } = request.params;
      const rate = await liveState.consumeRate(`clip-requests:${streamId}:${caller}`, perUserPerMinute, 60_000);
      if (!rate.allowed) {
        reply.header('retry-after', String(Math.ceil(rate.retryAfterMs / 1000)));
        return reply.code(429).send({ error: 'too_many_requests', message: `at most ${perUserPerMinute} clip requests a minute` });
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
        if (error instanceof InvalidClipRequestError) return reply.code(400).send({ error: 'invalid_request', message: error.message });
        if (error instanceof BusBackpressureError || error instanceof BusUnavailableError) {
          reply.header('retry-after', '2');
          return reply.code(503).send({ error: 'unavailable', message: 'the request could not be stored; try again shortly' });
        }
        throw error;
      }
      const clipId = clipIdOf(highlight);
      return reply.code(202).send({ highlight_id: highlight.highlight_id, clip_id: clipId, start: highlight.start, end: highlight.end, status_url: `/v1/clips/${clipId}` });
    },
  );
}
