import { createHash } from 'node:crypto';
import type { ChatModes } from './channel-settings.ts';
import { isEmoteOnly } from './spam-signals.ts';

/**
 * The chat modes that depend only on the message and the sender. Slow mode and unique chat need
 * shared state (the sender's last message time, the channel's recent messages), so the gateway
 * applies them through live state with the keys and rules defined here.
 */

export interface ChatSender {
  /** Hosts, moderators and admins are exempt from modes and filters, as on Twitch. */
  privileged: boolean;
  /** When the sender followed the channel (epoch ms), if they do. */
  followedAt?: number;
  subscriber: boolean;
}

export type ModeRejection = 'emote_only' | 'followers_only' | 'subscribers_only';

export function modeRejection(
  modes: ChatModes,
  sender: ChatSender,
  text: string,
  channelEmotes: ReadonlySet<string>,
  now: number,
): ModeRejection | null {
  if (sender.privileged) return null;
  if (modes.subscribers_only && !sender.subscriber) return 'subscribers_only';
  if (modes.followers_only_minutes !== null) {
    const followedLongEnough =
      sender.followedAt !== undefined && now - sender.followedAt >= modes.followers_only_minutes * 60_000;
    if (!followedLongEnough) return 'followers_only';
  }
  if (modes.emote_only && !isEmoteOnly(text, channelEmotes)) return 'emote_only';
  return null;
}

/** How long unique-chat remembers a message. */
export const UNIQUE_CHAT_WINDOW_MS = 15 * 60_000;

/**
 * The identity of a message for unique-chat: its folded form without spaces, hashed so the key
 * stays short. "HELLO there!!", "hello  there" and "h e l l o there" are the same message.
 */
export function uniqueChatFingerprint(folded: string): string {
  return createHash('sha1').update(folded.replace(/\s+/g, '')).digest('base64url').slice(0, 22);
}

/** Dice coefficient of character bigrams, 0–1: Nightbot's "repetition similarity" in one pass. */
export function similarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const bigrams = new Map<string, number>();
  for (let i = 0; i < a.length - 1; i++) {
    const bigram = a.slice(i, i + 2);
    bigrams.set(bigram, (bigrams.get(bigram) ?? 0) + 1);
  }
  let shared = 0;
  for (let i = 0; i < b.length - 1; i++) {
    const bigram = b.slice(i, i + 2);
    const count = bigrams.get(bigram) ?? 0;
    if (count > 0) {
      bigrams.set(bigram, count - 1);
      shared++;
    }
  }
  return (2 * shared) / (a.length + b.length - 2);
}

/** Twitch rejects a message identical to your last one within 30 s; we also catch near-copies. */
export const DUPLICATE_WINDOW_MS = 30_000;
export const DUPLICATE_SIMILARITY = 0.9;

export function isNearDuplicate(folded: string, recentFolded: readonly string[]): boolean {
  return recentFolded.some((previous) => similarity(folded, previous) >= DUPLICATE_SIMILARITY);
}
