import type { ChannelSettings } from '../../moderation/channel-settings.ts';
import type { ChannelTerm } from '../../moderation/term-rules.ts';
import type { ChatMessageView } from '../protocol.ts';

/**
 * The gateway's own state, shared by every gateway node: recent history per stream, bans and
 * timeouts, the stream's staff (moderators its host or an admin granted), channel settings and
 * terms, and messages held for review. Live state (core) has only keys and counters; this needs
 * lists, maps and atomic take-once, so it is a port of its own with the same two adapters. Memory
 * (embedded mode) keeps bans, timeouts, staff, settings and terms in a file under the data
 * directory so they survive a restart; Redis (distributed mode) is itself the durable copy every
 * node reads. Every moderator action is also audited on `chat.verdicts` and in
 * ClickHouse, but the gateway never has to replay that to know who is banned.
 */

export interface Sanction {
  kind: 'ban' | 'timeout';
  user_id: string;
  /** Epoch ms when a timeout ends; null for a ban. */
  until: number | null;
  reason: string;
  by: string;
  at: number;
}

export interface HeldMessage {
  message: ChatMessageView;
  clientMessageId?: string;
  /** The sender's socket, told when the message is released or denied. */
  senderSocketId: string;
  /** Rules that held it. */
  reasons: string[];
  heldAt: number;
  expiresAt: number;
}

export type HistoryRemoval = { messageId: string } | { userId: string };

export interface ChatStore {
  readonly kind: 'memory' | 'redis';

  /** Appends a delivered message and keeps only the newest `keep`. */
  appendHistory(streamId: string, message: ChatMessageView, keep: number): Promise<void>;
  /** Up to `limit` newest messages, oldest first. */
  recentHistory(streamId: string, limit: number): Promise<ChatMessageView[]>;
  /** Removes one message or every message of a user; returns the ids removed. */
  removeFromHistory(streamId: string, which: HistoryRemoval): Promise<string[]>;

  putSanction(streamId: string, sanction: Sanction): Promise<void>;
  /** The user's ban or unexpired timeout, or null. */
  getSanction(streamId: string, userId: string, now: number): Promise<Sanction | null>;
  /** True if there was one to lift. */
  deleteSanction(streamId: string, userId: string): Promise<boolean>;
  listSanctions(streamId: string, now: number): Promise<Sanction[]>;

  /** Makes the user one of the stream's staff (a moderator); granting twice is one grant. */
  grantStaff(streamId: string, userId: string): Promise<void>;
  /** True if the user was staff. */
  revokeStaff(streamId: string, userId: string): Promise<boolean>;
  isStaff(streamId: string, userId: string): Promise<boolean>;
  /** The stream's staff, sorted. */
  listStaff(streamId: string): Promise<string[]>;

  getSettings(streamId: string): Promise<ChannelSettings | null>;
  /**
   * Read-modify-write without lost updates between nodes: `change` gets the current settings
   * (or `initial` when none are stored) and may be called again if another writer got in first.
   */
  updateSettings(
    streamId: string,
    initial: ChannelSettings,
    change: (current: ChannelSettings) => ChannelSettings,
  ): Promise<ChannelSettings>;

  listTerms(streamId: string): Promise<ChannelTerm[]>;
  /** Stores a term unless the stream already has `limit` terms; false when full. */
  putTerm(streamId: string, term: ChannelTerm, limit: number): Promise<boolean>;
  deleteTerm(streamId: string, termId: string): Promise<ChannelTerm | null>;

  /** Keeps a held message until it is taken, or for HELD_RETENTION_MS past `expiresAt`. */
  putHeld(streamId: string, held: HeldMessage): Promise<void>;
  /**
   * Atomically removes and returns a held message: exactly one caller (moderator, AI, timeout)
   * gets it. Still works shortly after `expiresAt`, so the timeout itself can take it.
   */
  takeHeld(streamId: string, messageId: string): Promise<HeldMessage | null>;
  /** Held messages still awaiting a decision (`expiresAt` in the future), oldest first. */
  listHeld(streamId: string, now: number): Promise<HeldMessage[]>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How long a held message outlives its deadline in the store: long enough for the node that set
 * the timeout to take it, short enough that a message whose node died is gone soon after.
 */
export const HELD_RETENTION_MS = 60_000;

export const activeSanction = (sanction: Sanction | null | undefined, now: number): Sanction | null =>
  sanction && (sanction.until === null || sanction.until > now) ? sanction : null;
