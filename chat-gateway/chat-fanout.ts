import type { ChatModes } from '../core/moderation/channel-settings.ts';
import type {
  ChatMessageView,
  HeldMessageView,
  ClipStaffEvent,
  HeldResolvedEvent,
  MessageRemovedEvent,
  PromptEvent,
  MessageStatusEvent,
  UserTimeoutEvent,
} from '../core/chat/protocol.ts';

/**
 * Everything the gateway tells clients, by audience. The socket.io implementation reaches every
 * node through the adapter; domain code (intake, moderator actions, held messages, AI verdicts)
 * only talks to this.
 */
export interface ChatFanout {
  /** To everyone in the stream's room. */
  message(message: ChatMessageView): void;
  removed(streamId: string, event: MessageRemovedEvent): void;
  userTimeout(streamId: string, event: UserTimeoutEvent): void;
  modes(streamId: string, modes: ChatModes): void;
  /** To the stream's moderators only. */
  held(streamId: string, held: HeldMessageView): void;
  heldResolved(streamId: string, event: HeldResolvedEvent): void;
  /** To the stream's staff room (hosts, moderators, admins): suggestions and clip news. */
  prompt(streamId: string, event: PromptEvent): void;
  clip(streamId: string, event: ClipStaffEvent): void;
  /**
   * Takes the user's sockets that are staff by a grant out of the stream's staff room, on every
   * node, so a revoked moderator gets no more held messages, prompts or clip news, and its
   * socket acts with its token's role again.
   */
  staffRevoked(streamId: string, userId: string): void;
  /** To one socket, on whichever node holds it. */
  status(socketId: string, event: MessageStatusEvent): void;
  /** Tells every node to drop its cached copy of the channel's rules. */
  settingsChanged(streamId: string): void;
}

export const roomOf = (streamId: string) => `stream:${streamId}`;
/** The stream's staff: every socket whose role there is moderator, host or admin. */
export const moderatorRoomOf = (streamId: string) => `mods:${streamId}`;
/**
 * The sockets of one user that are on the stream's staff by a grant, not by their token: what a
 * revocation empties. JSON keeps any stream and user id apart.
 */
export const grantedRoomOf = (streamId: string, userId: string) => `granted:${JSON.stringify([streamId, userId])}`;
