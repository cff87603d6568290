import type { BlockList } from 'node:net';
import type { Logger } from 'pino';
import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import type { Config } from '../core/config.ts';
import { clientAddress } from '../core/http/trusted-proxies.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import type { Validator } from '../core/schemas/validate.ts';
import type { Static, TSchema } from '@sinclair/typebox';
import type { ChannelRulesCache } from './channel-rules-cache.ts';
import { parseChatCommand, type ChatCommands } from './chat-commands.ts';
import { grantedRoomOf, moderatorRoomOf, roomOf, type ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { ChatStore } from '../core/chat/chat-store/chat-store.ts';
import {
  anonymousIdentity,
  canModerate,
  ChatTokenError,
  roleOn,
  type ChatIdentity,
  type ChatRole,
  type ChatTokenVerifier,
} from '../core/chat/chat-token.ts';
import type { MessageIntake } from './message-intake.ts';
import { ModerationActionError, rememberRole, type ModeratorActions } from './moderator-actions.ts';
import type { PromptFeedback } from './prompt-feedback.ts';
import {
  joinValidator,
  messageValidator,
  MODERATOR_EVENTS,
  promptFeedbackValidator,
  type Ack,
  type JoinAck,
  type MessageAck,
  type ModeratorEvent,
  type RejectionReason,
} from '../core/chat/protocol.ts';
import type { ViewerCounts } from './viewer-counts.ts';

interface SocketData {
  identity: ChatIdentity;
}

type ChatSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>;
type AckFn = (answer: unknown) => void;

const EVENT_WINDOW_MS = 10_000;
/** Past this many times the event limit within a window, the socket is dropped, not just refused. */
const DISCONNECT_FACTOR = 3;
/** setTimeout's ceiling; tokens living longer are re-checked on reconnect anyway. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Fixed-window count of one socket's events: refuse past the limit, disconnect far past it. */
class SocketEventLimiter {
  private windowStart = 0;
  private count = 0;
  constructor(private readonly limit: number) {}

  take(now: number): 'ok' | 'refuse' | 'disconnect' {
    if (now - this.windowStart >= EVENT_WINDOW_MS) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count++;
    if (this.count <= this.limit) return 'ok';
    return this.count > this.limit * DISCONNECT_FACTOR ? 'disconnect' : 'refuse';
  }
}

/** socket.io passes the acknowledgement last; a client may also send it without a payload. */
function splitArgs(args: unknown[]): { payload: unknown; ack: AckFn | undefined } {
  const last = args.at(-1);
  const ack = typeof last === 'function' ? (last as AckFn) : undefined;
  return { payload: ack ? (args.length > 1 ? args[0] : undefined) : args[0], ack };
}

const refusal = (reason: RejectionReason, detail?: string, retryAfterMs?: number) => ({
  ok: false as const,
  reason,
  ...(detail !== undefined && { detail }),
  ...(retryAfterMs !== undefined && { retryAfterMs }),
});

function invalidPayload<T extends TSchema>(validator: Validator<T>, payload: unknown) {
  const first = validator.errors(payload, 1)[0];
  return refusal('invalid_payload', first ? `${first.path} ${first.message}` : 'invalid payload');
}

/** A handshake refusal the client receives as `connect_error` with `err.message` = reason and `err.data`. */
function connectError(reason: string, detail: string, retryAfterMs?: number): Error {
  return Object.assign(new Error(reason), {
    data: { reason, detail, ...(retryAfterMs !== undefined && { retryAfterMs }) },
  });
}

export interface ChatNamespaceDeps {
  nsp: Namespace;
  chat: Config['chat'];
  /** LIVEPULSE_TRUSTED_PROXIES: whose X-Forwarded-For names an anonymous reader's address. */
  trustedProxies: BlockList;
  verifier: ChatTokenVerifier;
  liveState: LiveState;
  store: ChatStore;
  rules: ChannelRulesCache;
  intake: MessageIntake;
  actions: ModeratorActions;
  commands: ChatCommands;
  promptFeedback: PromptFeedback;
  viewers: ViewerCounts;
  metrics: ChatMetrics;
  logger: Logger;
}

/**
 * Namespace `/chat`: the handshake authenticates (a JWT, or none for an anonymous reader) and
 * rate-limits connections per user (per address when anonymous), so a reconnect storm is refused
 * at the door. Each socket joins one stream room at a time. Every event is validated, answered
 * through its acknowledgement, and counted against a per-socket event limit.
 */
export function registerChatNamespace(deps: ChatNamespaceDeps): void {
  const { nsp, chat, trustedProxies, verifier, liveState, metrics, logger } = deps;

  nsp.use((socket, next) => {
    authenticate(socket as ChatSocket).then(
      () => next(),
      (error: Error) => {
        const reason = (error as Error & { data?: { reason?: string } }).data?.reason ?? 'unavailable';
        metrics.connectRejections.inc({ reason });
        next(error);
      },
    );
  });

  async function authenticate(socket: ChatSocket): Promise<void> {
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    let identity: ChatIdentity;
    try {
      identity = token === undefined || token === null ? anonymousIdentity(socket.id) : await verifier.verify(token);
    } catch (error) {
      if (error instanceof ChatTokenError) throw connectError(error.reason, error.message);
      logger.error({ err: error }, 'chat token verification failed unexpectedly');
      throw connectError('unavailable', 'authentication is unavailable; try again');
    }
    // Behind a load balancer every reader connects from its address: count the client's, as HTTP does.
    const address = clientAddress(
      socket.handshake.address,
      socket.handshake.headers['x-forwarded-for'],
      trustedProxies,
    );
    const limiterKey = identity.anonymous ? `address:${address}` : `user:${identity.userId}`;
    const rate = await liveState
      .consumeRate(`chat:connect:${limiterKey}`, chat.connectionsPerMinute, 60_000)
      .catch((error: unknown) => {
        logger.error({ err: error }, 'connection rate limit unavailable');
        throw connectError('unavailable', 'chat is temporarily unavailable; try again');
      });
    if (!rate.allowed)
      throw connectError('rate_limited', 'too many connections; wait before reconnecting', rate.retryAfterMs);
    socket.data.identity = identity;
  }

  nsp.on('connection', (rawSocket) => {
    const socket = rawSocket as ChatSocket;
    metrics.connections.inc();
    const session = new ChatSession(socket, deps);
    const expiry = Number.isFinite(session.identity.expiresAt)
      ? setTimeout(
          () => {
            socket.emit('session:expired', { reason: 'expired_token' });
            socket.disconnect(true);
          },
          Math.min(MAX_TIMER_MS, Math.max(0, session.identity.expiresAt - Date.now())),
        )
      : undefined;
    socket.on('disconnect', () => {
      metrics.connections.dec();
      clearTimeout(expiry);
    });

    const limiter = new SocketEventLimiter(chat.socketEventsPer10s);
    socket.use((packet, next) => {
      const verdict = limiter.take(Date.now());
      if (verdict === 'ok') return next();
      metrics.rejections.inc({ reason: 'rate_limited' });
      if (verdict === 'disconnect') {
        metrics.disconnectsForAbuse.inc();
        socket.disconnect(true);
        return;
      }
      const { ack } = splitArgs(packet.slice(1));
      ack?.(refusal('rate_limited', `more than ${chat.socketEventsPer10s} events in 10 s`, EVENT_WINDOW_MS));
    });

    socket.onAny((event: string, ...args: unknown[]) => {
      if (
        event === 'join' ||
        event === 'message' ||
        event === PROMPT_FEEDBACK_EVENT ||
        Object.hasOwn(MODERATOR_EVENTS, event)
      )
        return;
      metrics.rejections.inc({ reason: 'unknown_event' });
      splitArgs(args).ack?.(refusal('unknown_event', `no event named ${JSON.stringify(event.slice(0, 40))}`));
    });
    socket.on('join', (...args: unknown[]) => session.handle(args, (payload) => session.join(payload)));
    socket.on('message', (...args: unknown[]) => session.handle(args, (payload) => session.message(payload)));
    socket.on(PROMPT_FEEDBACK_EVENT, (...args: unknown[]) =>
      session.handle(args, (payload) => session.promptFeedback(payload)),
    );
    for (const event of Object.keys(MODERATOR_EVENTS) as ModeratorEvent[]) {
      socket.on(event, (...args: unknown[]) => session.handle(args, (payload) => session.moderate(event, payload)));
    }
  });
}

/** One socket's state: the stream it joined and its role there. */
class ChatSession {
  readonly identity: ChatIdentity;
  private streamId: string | null = null;
  private joinedRole: ChatRole | null = null;
  /** Set when a staff grant, not the token, made this socket a moderator of its stream. */
  private grant: { room: string; roleByToken: ChatRole | null } | null = null;

  constructor(
    private readonly socket: ChatSocket,
    private readonly deps: ChatNamespaceDeps,
  ) {
    this.identity = socket.data.identity;
  }

  /** Runs a handler and answers through the acknowledgement; unexpected failures answer `unavailable`. */
  handle(args: unknown[], run: (payload: unknown) => Promise<unknown>): void {
    const { payload, ack } = splitArgs(args);
    run(payload).then(
      (answer) => ack?.(answer),
      (error: unknown) => {
        if (error instanceof ModerationActionError) {
          this.deps.metrics.rejections.inc({ reason: error.reason });
          ack?.(refusal(error.reason, error.message));
          return;
        }
        this.deps.logger.error(
          { err: error, userId: this.identity.userId, streamId: this.streamId },
          'chat event failed',
        );
        this.deps.metrics.rejections.inc({ reason: 'unavailable' });
        ack?.(refusal('unavailable', 'chat is temporarily unavailable; try again'));
      },
    );
  }

  /**
   * The role this socket acts with: the one it joined with, except that a grant's lasts only
   * while the socket is in its grant room, which a revocation empties on every node.
   */
  private get role(): ChatRole | null {
    if (this.grant && !this.socket.rooms.has(this.grant.room)) return this.grant.roleByToken;
    return this.joinedRole;
  }

  async join(payload: unknown): Promise<Ack<JoinAck>> {
    if (!joinValidator.check(payload)) return invalidPayload(joinValidator, payload);
    const { streamId } = payload;
    const { store, rules, chat, viewers, liveState, actions } = this.deps;
    const role = this.identity.anonymous ? null : await actions.roleOf(this.identity, streamId);
    const { settings } = await rules.get(streamId);
    if (role === null && !settings.modes.anonymous_viewers) {
      return refusal('forbidden', `stream ${streamId} does not admit viewers without a role`);
    }
    await this.enterRooms(streamId, role);
    this.streamId = streamId;
    this.joinedRole = role;
    const actingRole = this.role;

    const [history, sanction] = await Promise.all([
      store.recentHistory(streamId, chat.historySize),
      actingRole === null ? null : store.getSanction(streamId, this.identity.userId, Date.now()),
      actingRole === null ? undefined : rememberRole(liveState, streamId, this.identity.userId, actingRole),
    ]);
    return {
      ok: true,
      streamId,
      role: actingRole ?? 'anonymous',
      canChat: actingRole !== null,
      history,
      modes: settings.modes,
      viewers: viewers.count(streamId),
      ...(sanction && { sanction: { kind: sanction.kind, until: sanction.until, reason: sanction.reason } }),
    };
  }

  /**
   * Leaves the previous stream's rooms and enters this one's: its staff room for staff, and the
   * grant room too when a grant rather than the token made the socket staff.
   */
  private async enterRooms(streamId: string, role: ChatRole | null): Promise<void> {
    if (this.streamId !== null && this.streamId !== streamId) {
      await this.socket.leave(roomOf(this.streamId));
      await this.socket.leave(moderatorRoomOf(this.streamId));
    }
    if (this.grant) await this.socket.leave(this.grant.room);
    const roleByToken = roleOn(this.identity, streamId);
    this.grant =
      canModerate(role) && !canModerate(roleByToken)
        ? { room: grantedRoomOf(streamId, this.identity.userId), roleByToken }
        : null;
    // In the grant room before the staff room, and the grant read again after: a revocation
    // either finds the socket there or is seen by the second read.
    if (this.grant) await this.socket.join(this.grant.room);
    await this.socket.join(roomOf(streamId));
    if (canModerate(role)) await this.socket.join(moderatorRoomOf(streamId));
    else await this.socket.leave(moderatorRoomOf(streamId));
    if (this.grant && !canModerate(await this.deps.actions.roleOf(this.identity, streamId))) {
      await this.socket.leave(this.grant.room);
      await this.socket.leave(moderatorRoomOf(streamId));
    }
  }

  async message(payload: unknown): Promise<MessageAck> {
    const refuse = (reason: RejectionReason, detail: string): MessageAck => {
      this.deps.metrics.rejections.inc({ reason });
      return { status: 'rejected', reason, detail };
    };
    if (this.streamId === null) return refuse('not_joined', 'join a stream first');
    if (this.role === null)
      return refuse('read_only', 'this connection may read, not write: sign in with a role on the stream');
    if (!messageValidator.check(payload)) {
      const first = messageValidator.errors(payload, 1)[0];
      return refuse('invalid_payload', first ? `${first.path} ${first.message}` : 'invalid payload');
    }
    // A command is answered through the ack and never becomes chat.
    const command = parseChatCommand(payload.text);
    if (command) return this.deps.commands.run(this.identity, this.role, this.streamId, command);
    return this.deps.intake.accept(
      { identity: this.identity, role: this.role, socketId: this.socket.id },
      this.streamId,
      payload,
    );
  }

  async promptFeedback(payload: unknown): Promise<Ack<object>> {
    if (this.streamId === null) return refusal('not_joined', 'join the stream the prompt was for first');
    if (!promptFeedbackValidator.check(payload)) return invalidPayload(promptFeedbackValidator, payload);
    return { ok: true, ...(await this.deps.promptFeedback.record(this.identity, this.role, this.streamId, payload)) };
  }

  async moderate<E extends ModeratorEvent>(event: E, payload: unknown): Promise<Ack<object>> {
    if (this.streamId === null) return refusal('not_joined', 'join the stream you moderate first');
    const validator: Validator<ModeratorRequestSchema<E>> = MODERATOR_EVENTS[event];
    const request = payload ?? {};
    if (!validator.check(request)) return invalidPayload(validator, request);
    const result = await moderatorHandlers[event](this.deps.actions, this.identity, this.streamId, request);
    return { ok: true, ...result };
  }
}

type ModeratorRequestSchema<E extends ModeratorEvent> = (typeof MODERATOR_EVENTS)[E]['schema'];
type ModeratorHandler<E extends ModeratorEvent> = (
  actions: ModeratorActions,
  actor: ChatIdentity,
  streamId: string,
  request: Static<ModeratorRequestSchema<E>>,
) => Promise<object>;

/** Each moderator event and the action it runs (the HTTP API calls the same actions). */
const moderatorHandlers: { [E in ModeratorEvent]: ModeratorHandler<E> } = {
  'mod:delete': (actions, actor, streamId, request) => actions.deleteMessage(actor, streamId, request),
  'mod:timeout': (actions, actor, streamId, request) => actions.timeout(actor, streamId, request),
  'mod:ban': (actions, actor, streamId, request) => actions.ban(actor, streamId, request),
  'mod:unban': (actions, actor, streamId, request) => actions.unban(actor, streamId, request),
  'mod:approve': (actions, actor, streamId, request) => actions.approve(actor, streamId, request),
  'mod:deny': (actions, actor, streamId, request) => actions.deny(actor, streamId, request),
  'mod:permit': (actions, actor, streamId, request) => actions.permit(actor, streamId, request),
  'mod:terms:add': (actions, actor, streamId, request) => actions.addTerm(actor, streamId, request),
  'mod:terms:remove': (actions, actor, streamId, request) => actions.removeTerm(actor, streamId, request),
  'mod:terms:list': (actions, actor, streamId) => actions.listTerms(actor, streamId),
  'mod:held:list': (actions, actor, streamId) => actions.listHeld(actor, streamId),
  'mod:bans:list': (actions, actor, streamId) => actions.listSanctions(actor, streamId),
  'mod:modes': (actions, actor, streamId, request) => actions.setModes(actor, streamId, request),
  'mod:policy': (actions, actor, streamId, request) => actions.setPolicy(actor, streamId, request),
  'mod:shield': (actions, actor, streamId, request) => actions.setShield(actor, streamId, request.enabled),
  'mod:staff:add': (actions, actor, streamId, request) => actions.grantStaff(actor, streamId, request),
  'mod:staff:remove': (actions, actor, streamId, request) => actions.revokeStaff(actor, streamId, request),
  'mod:staff:list': (actions, actor, streamId) => actions.listStaff(actor, streamId),
};

/** The socket.io side of ChatFanout: rooms reach every node through the adapter. */
export function socketIoFanout(
  nsp: Namespace,
  onSettingsChanged: (streamId: string) => void,
  clustered: boolean,
): ChatFanout {
  return {
    message: (message) => nsp.to(roomOf(message.streamId)).emit('message', message),
    removed: (streamId, event) => nsp.to(roomOf(streamId)).emit('message:removed', event),
    userTimeout: (streamId, event) => nsp.to(roomOf(streamId)).emit('user:timeout', event),
    modes: (streamId, modes) => nsp.to(roomOf(streamId)).emit('modes', modes),
    held: (streamId, held) => nsp.to(moderatorRoomOf(streamId)).emit('message:held', held),
    heldResolved: (streamId, event) => nsp.to(moderatorRoomOf(streamId)).emit('message:held:resolved', event),
    prompt: (streamId, event) => nsp.to(moderatorRoomOf(streamId)).emit('prompt', event),
    clip: (streamId, event) => nsp.to(moderatorRoomOf(streamId)).emit('clip', event),
    staffRevoked: (streamId, userId) => {
      const granted = grantedRoomOf(streamId, userId);
      // Through the adapter, so the user's sockets on other nodes leave too.
      nsp.in(granted).socketsLeave([moderatorRoomOf(streamId), granted]);
    },
    status: (socketId, event) => nsp.to(socketId).emit('message:status', event),
    settingsChanged: (streamId) => {
      onSettingsChanged(streamId);
      if (clustered) nsp.serverSideEmit(SETTINGS_CHANGED_EVENT, streamId);
    },
  };
}

export const SETTINGS_CHANGED_EVENT = 'chat:settings-changed';
export const PROMPT_FEEDBACK_EVENT = 'prompt:feedback';
