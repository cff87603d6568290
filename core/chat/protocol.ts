import { Type, type Static } from '@sinclair/typebox';
import { ChatModesPatch, AutoModPolicyPatch, type ChatModes } from '../moderation/channel-settings.ts';
import { Id } from '../schemas/common.ts';
import { createValidator } from '../schemas/validate.ts';
import type { ChatRole } from './chat-token.ts';

/**
 * The socket.io protocol of namespace `/chat`: what clients send (validated here, once) and
 * what the server sends back. A socket joins one stream at a time. Every client event takes an
 * acknowledgement callback and is answered through it, with a reason when refused.
 *
 * client → server: `join`, `message`, for moderators `mod:*` (see MODERATOR_EVENTS), and for
 * hosts and moderators `prompt:feedback`. A message `!clip [title]` from a host, moderator or
 * admin asks for a clip instead of being chat (see chat-commands.ts).
 * server → client: `message`, `message:removed`, `message:held` and `message:held:resolved`
 * (moderators only), `message:status` (the sender of a held message), `user:timeout`, `modes`,
 * `viewers` (at most once a second), and to the stream's staff (hosts, moderators, admins) only:
 * `prompt` (a suggestion for the host) and `clip` (a clip was created, updated or failed)
 */

export const CHAT_NAMESPACE = '/chat';

/** Why something was refused; stable codes clients can switch on. */
export type RejectionReason =
  | 'invalid_payload'
  | 'unknown_event'
  | 'not_joined'
  | 'read_only'
  | 'forbidden'
  | 'not_found'
  | 'banned'
  | 'timed_out'
  | 'rate_limited'
  | 'slow_mode'
  | 'duplicate'
  | 'not_unique'
  | 'emote_only'
  | 'followers_only'
  | 'subscribers_only'
  | 'empty'
  | 'too_long'
  | 'blocked'
  | 'invalid_term'
  | 'unavailable';

export const JoinRequest = Type.Object({ streamId: Id('Stream to join') }, { additionalProperties: false });
export type JoinRequest = Static<typeof JoinRequest>;

/** `text` is bounded generously here; the configured length limit answers `too_long` with a reason. */
export const MessageRequest = Type.Object(
  {
    text: Type.String({ maxLength: 10_000 }),
    clientMessageId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type MessageRequest = Static<typeof MessageRequest>;

const Reason = Type.String({ maxLength: 500 });

export const DeleteMessageRequest = Type.Object(
  { messageId: Id('Message'), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export const TimeoutRequest = Type.Object(
  {
    userId: Id('User'),
    /** Twitch allows 1 s to 2 weeks. */
    durationSeconds: Type.Integer({ minimum: 1, maximum: 1_209_600 }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export const BanRequest = Type.Object(
  { userId: Id('User'), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export const UnbanRequest = Type.Object({ userId: Id('User') }, { additionalProperties: false });
export const ReviewRequest = Type.Object(
  { messageId: Id('Held message'), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export const PermitRequest = Type.Object(
  { userId: Id('User'), seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600, default: 60 })) },
  { additionalProperties: false },
);
export const AddTermRequest = Type.Object(
  {
    kind: Type.Union([Type.Literal('blocked'), Type.Literal('permitted')]),
    text: Type.String({ minLength: 1, maxLength: 270 }),
    action: Type.Optional(Type.Union([Type.Literal('block'), Type.Literal('hold')])),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000 })),
  },
  { additionalProperties: false },
);
export const RemoveTermRequest = Type.Object({ termId: Id('Term') }, { additionalProperties: false });
export const ShieldRequest = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });
/** A user to make, or no longer make, a moderator of the stream (hosts and admins only). */
export const StaffRequest = Type.Object({ userId: Id('User') }, { additionalProperties: false });
export const EmptyRequest = Type.Object({}, { additionalProperties: false });

export type DeleteMessageRequest = Static<typeof DeleteMessageRequest>;
export type TimeoutRequest = Static<typeof TimeoutRequest>;
export type BanRequest = Static<typeof BanRequest>;
export type UnbanRequest = Static<typeof UnbanRequest>;
export type ReviewRequest = Static<typeof ReviewRequest>;
export type PermitRequest = Static<typeof PermitRequest>;
export type AddTermRequest = Static<typeof AddTermRequest>;
export type RemoveTermRequest = Static<typeof RemoveTermRequest>;
export type ShieldRequest = Static<typeof ShieldRequest>;
export type StaffRequest = Static<typeof StaffRequest>;

/** A host's or moderator's verdict on a prompt, stored for the content team's boards. */
export const PromptFeedbackRequest = Type.Object(
  {
    promptId: Id('Prompt'),
    action: Type.Union([Type.Literal('used'), Type.Literal('dismissed')]),
  },
  { additionalProperties: false },
);
export type PromptFeedbackRequest = Static<typeof PromptFeedbackRequest>;

export const joinValidator = createValidator(JoinRequest);
export const promptFeedbackValidator = createValidator(PromptFeedbackRequest);
export const messageValidator = createValidator(MessageRequest);

/** Moderator events over socket.io and the request each takes; the HTTP API mirrors them. */
export const MODERATOR_EVENTS = {
  'mod:delete': createValidator(DeleteMessageRequest),
  'mod:timeout': createValidator(TimeoutRequest),
  'mod:ban': createValidator(BanRequest),
  'mod:unban': createValidator(UnbanRequest),
  'mod:approve': createValidator(ReviewRequest),
  'mod:deny': createValidator(ReviewRequest),
  'mod:permit': createValidator(PermitRequest),
  'mod:terms:add': createValidator(AddTermRequest),
  'mod:terms:remove': createValidator(RemoveTermRequest),
  'mod:terms:list': createValidator(EmptyRequest),
  'mod:held:list': createValidator(EmptyRequest),
  'mod:bans:list': createValidator(EmptyRequest),
  'mod:modes': createValidator(ChatModesPatch),
  'mod:policy': createValidator(AutoModPolicyPatch),
  'mod:shield': createValidator(ShieldRequest),
  'mod:staff:add': createValidator(StaffRequest),
  'mod:staff:remove': createValidator(StaffRequest),
  'mod:staff:list': createValidator(EmptyRequest),
} as const;
export type ModeratorEvent = keyof typeof MODERATOR_EVENTS;

/** A chat message as clients see it. */
export interface ChatMessageView {
  id: string;
  streamId: string;
  userId: string;
  name: string;
  text: string;
  sentAt: number;
  /** Badge for hosts, moderators and admins. */
  role?: Exclude<ChatRole, 'viewer'>;
}

export interface HeldMessageView {
  message: ChatMessageView;
  /** The rules that held it, e.g. `spam.links`, `aggression.threat`. */
  reasons: string[];
  heldAt: number;
  /** When the hold-timeout policy decides if nobody has. */
  expiresAt: number;
}

export type MessageAck =
  | { status: 'delivered'; id: string }
  | ClipCommandAck
  | { status: 'held'; id: string; reason: 'held_for_review'; expiresAt: number }
  | { status: 'rejected'; reason: RejectionReason; detail?: string; retryAfterMs?: number };

export type Ack<T extends object = Record<never, never>> =
  | ({ ok: true } & T)
  | { ok: false; reason: RejectionReason; detail?: string; retryAfterMs?: number };

export interface JoinAck {
  streamId: string;
  role: ChatRole | 'anonymous';
  canChat: boolean;
  history: ChatMessageView[];
  modes: ChatModes;
  viewers: number;
  /** Set when the user is banned or timed out on this stream. */
  sanction?: { kind: 'ban' | 'timeout'; until: number | null; reason: string };
}

export interface MessageRemovedEvent {
  id: string;
  reason: string;
}

export interface MessageStatusEvent {
  id: string;
  clientMessageId?: string;
  status: 'delivered' | 'denied';
  reason?: string;
}

export interface HeldResolvedEvent {
  id: string;
  action: 'release' | 'deny';
  by: 'moderator' | 'ai' | 'timeout';
}

/** `kind: 'lifted'` when a ban or timeout ends early; clients remove a sanctioned user's messages. */
export interface UserTimeoutEvent {
  userId: string;
  kind: 'timeout' | 'ban' | 'lifted';
  until: number | null;
  reason: string;
}

/** The answer to `!clip`: the highlight asked for and the clip to follow at `/v1/clips/:clipId`. */
export interface ClipCommandAck {
  status: 'command';
  command: 'clip';
  highlightId: string;
  clipId: string;
  start: number;
  end: number;
  /** As typed after `!clip`; the clip itself carries no title yet (the highlight has no field for it). */
  title?: string;
}

/** `prompt`: a suggestion for the host (hosts, moderators and admins of the stream only). */
export interface PromptEvent {
  id: string;
  streamId: string;
  prompt: string;
  rationale: string;
  /** Display names of the viewers behind it. */
  askers: string[];
  sourceMessageIds: string[];
  /** 1–5, 5 the most pressing. */
  priority: number;
  /** `heuristic` when no model wrote it. */
  source: 'ai' | 'heuristic';
  windowStart: number;
  windowEnd: number;
  createdAt: number;
}

/** `clip`: what became of a clip of the stream (hosts, moderators and admins only). */
export interface ClipStaffEvent {
  clipId: string;
  highlightId: string;
  streamId: string;
  status: 'created' | 'updated' | 'failed';
  start: number;
  end: number;
  outputs?: Record<string, string>;
  durationMs?: number;
  reason?: string;
  finishedAt: number;
}

export interface ViewersEvent {
  streamId: string;
  count: number;
}
