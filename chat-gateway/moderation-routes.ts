import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { CHAT_TOKEN_SECURITY, documentRoutes } from '../core/http/openapi.ts';
import { autoModPolicyPatchValidator, chatModesPatchValidator } from '../core/moderation/channel-settings.ts';
import { Id } from '../core/schemas/common.ts';
import { createValidator, type Validator } from '../core/schemas/validate.ts';
import { ChatTokenError, type ChatIdentity, type ChatTokenVerifier } from '../core/chat/chat-token.ts';
import { ModerationActionError, type ModeratorActions } from './moderator-actions.ts';
import { MODERATOR_EVENTS, type RejectionReason } from '../core/chat/protocol.ts';

/**
 * The moderator tools over HTTP, for dashboards and bots: the same actions, rules and audit as
 * the socket.io `mod:*` events, authenticated with the same JWT (`Authorization: Bearer …`).
 * Answers to problems have the platform's shape `{statusCode, error, message}`.
 */

const STATUS: Partial<Record<RejectionReason, number>> = {
  forbidden: 403,
  not_found: 404,
  invalid_payload: 400,
  invalid_term: 400,
  unavailable: 503,
};
const streamIdValidator = createValidator(Id('Stream'));
const pathIdValidator = createValidator(Id('Id in the path'));

class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

function validBody<T extends TSchema>(validator: Validator<T>, request: unknown) {
  if (validator.check(request)) return request;
  const problems = validator.errors(request, 3).map((e) => `${e.path} ${e.message}`);
  throw new HttpProblem(400, 'invalid_payload', `invalid request body: ${problems.join('; ')}`);
}

/** The JSON body as an object ({} when absent), so path parameters can be merged into it. */
function objectBody(request: FastifyRequest): Record<string, unknown> {
  const { body } = request;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new HttpProblem(400, 'invalid_payload', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function pathId(value: unknown, name: string): string {
  if (!pathIdValidator.check(value))
    throw new HttpProblem(400, 'invalid_payload', `${name} must be 1–128 letters, digits or ._:@/+=-`);
  return value;
}

export function moderationRoutes(
  app: FastifyInstance,
  { verifier, actions, logger }: { verifier: ChatTokenVerifier; actions: ModeratorActions; logger: Logger },
): Promise<void> {
  documentRoutes(app, { tags: ['moderation'], security: CHAT_TOKEN_SECURITY });
  const actorOf = async (request: FastifyRequest): Promise<ChatIdentity> => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) throw new HttpProblem(401, 'unauthorized', 'send a chat token as Authorization: Bearer <jwt>');
    try {
      return await verifier.verify(token);
    } catch (error) {
      if (error instanceof ChatTokenError) throw new HttpProblem(401, error.reason, error.message);
      throw error;
    }
  };

  const route =
    (run: (actor: ChatIdentity, streamId: string, request: FastifyRequest) => Promise<unknown>, successStatus = 200) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const actor = await actorOf(request);
        const { streamId } = request.params as { streamId: unknown };
        if (!streamIdValidator.check(streamId))
          throw new HttpProblem(400, 'invalid_payload', 'streamId must be 1–128 letters, digits or ._:@/+=-');
        const result = await run(actor, streamId, request);
        return reply.code(successStatus).send(result);
      } catch (error) {
        if (error instanceof HttpProblem)
          return reply
            .code(error.statusCode)
            .send({ statusCode: error.statusCode, error: error.code, message: error.message });
        if (error instanceof ModerationActionError) {
          const statusCode = STATUS[error.reason] ?? 400;
          return reply.code(statusCode).send({ statusCode, error: error.reason, message: error.message });
        }
        logger.error({ err: error, url: request.url }, 'moderation request failed');
        return reply
          .code(503)
          .send({ statusCode: 503, error: 'unavailable', message: 'moderation is temporarily unavailable; try again' });
      }
    };

  const body = <T extends TSchema>(
    validator: Validator<T>,
    request: FastifyRequest,
    fromPath: Record<string, unknown> = {},
  ) => validBody(validator, { ...objectBody(request), ...fromPath });
  const param = (request: FastifyRequest, name: string) =>
    pathId((request.params as Record<string, unknown>)[name], name);
  const prefix = '/v1/chat/streams/:streamId';

  app.get(
    `${prefix}/held`,
    route((actor, streamId) => actions.listHeld(actor, streamId)),
  );
  app.post(
    `${prefix}/held/:messageId/approve`,
    route((actor, streamId, request) =>
      actions.approve(
        actor,
        streamId,
        body(MODERATOR_EVENTS['mod:approve'], request, { messageId: param(request, 'messageId') }),
      ),
    ),
  );
  app.post(
    `${prefix}/held/:messageId/deny`,
    route((actor, streamId, request) =>
      actions.deny(
        actor,
        streamId,
        body(MODERATOR_EVENTS['mod:deny'], request, { messageId: param(request, 'messageId') }),
      ),
    ),
  );
  app.delete(
    `${prefix}/messages/:messageId`,
    route((actor, streamId, request) => {
      const { reason } = request.query as { reason?: unknown };
      const deletion = { messageId: param(request, 'messageId'), ...(reason !== undefined && { reason }) };
      return actions.deleteMessage(actor, streamId, validBody(MODERATOR_EVENTS['mod:delete'], deletion));
    }),
  );
  app.post(
    `${prefix}/timeouts`,
    route(
      (actor, streamId, request) => actions.timeout(actor, streamId, body(MODERATOR_EVENTS['mod:timeout'], request)),
      201,
    ),
  );
  app.get(
    `${prefix}/bans`,
    route((actor, streamId) => actions.listSanctions(actor, streamId)),
  );
  app.post(
    `${prefix}/bans`,
    route((actor, streamId, request) => actions.ban(actor, streamId, body(MODERATOR_EVENTS['mod:ban'], request)), 201),
  );
  app.delete(
    `${prefix}/bans/:userId`,
    route((actor, streamId, request) => actions.unban(actor, streamId, { userId: param(request, 'userId') })),
  );
  app.post(
    `${prefix}/permits`,
    route(
      (actor, streamId, request) => actions.permit(actor, streamId, body(MODERATOR_EVENTS['mod:permit'], request)),
      201,
    ),
  );
  app.get(
    `${prefix}/terms`,
    route((actor, streamId) => actions.listTerms(actor, streamId)),
  );
  app.post(
    `${prefix}/terms`,
    route(
      (actor, streamId, request) => actions.addTerm(actor, streamId, body(MODERATOR_EVENTS['mod:terms:add'], request)),
      201,
    ),
  );
  app.delete(
    `${prefix}/terms/:termId`,
    route((actor, streamId, request) => actions.removeTerm(actor, streamId, { termId: param(request, 'termId') })),
  );
  app.get(
    `${prefix}/modes`,
    route(async (actor, streamId) => ({ modes: (await actions.getSettings(actor, streamId)).modes })),
  );
  app.patch(
    `${prefix}/modes`,
    route((actor, streamId, request) =>
      actions.setModes(actor, streamId, validBody(chatModesPatchValidator, objectBody(request))),
    ),
  );
  app.get(
    `${prefix}/policy`,
    route(async (actor, streamId) => ({ policy: (await actions.getSettings(actor, streamId)).policy })),
  );
  app.patch(
    `${prefix}/policy`,
    route((actor, streamId, request) =>
      actions.setPolicy(actor, streamId, validBody(autoModPolicyPatchValidator, objectBody(request))),
    ),
  );
  app.put(
    `${prefix}/shield`,
    route((actor, streamId, request) =>
      actions.setShield(actor, streamId, body(MODERATOR_EVENTS['mod:shield'], request).enabled),
    ),
  );
  app.get(
    `${prefix}/staff`,
    route((actor, streamId) => actions.listStaff(actor, streamId)),
  );
  app.put(
    `${prefix}/staff/:userId`,
    route((actor, streamId, request) => actions.grantStaff(actor, streamId, { userId: param(request, 'userId') })),
  );
  app.delete(
    `${prefix}/staff/:userId`,
    route((actor, streamId, request) => actions.revokeStaff(actor, streamId, { userId: param(request, 'userId') })),
  );
  return Promise.resolve();
}
