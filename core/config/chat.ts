import { z } from 'zod';
import { boolean, configSection, intBetween, positiveInt } from './fields.ts';

/** The chat gateway: message limits, flood control, held messages and history. See docs/moderation.md. */
export const chatSection = configSection({
  variables: z.object({
    CHAT_MAX_MESSAGE_LENGTH: intBetween(1, 2_000, 500).describe(
      'characters per message (1–2000); longer is refused `too_long`',
    ),
    CHAT_FLOOD_MESSAGES: positiveInt(20).describe(
      "messages per user per `CHAT_FLOOD_WINDOW_MS`, across sockets and nodes (Twitch's limit)",
    ),
    CHAT_PRIVILEGED_FLOOD_MESSAGES: positiveInt(100).describe('the same for moderators, hosts and admins'),
    CHAT_FLOOD_WINDOW_MS: positiveInt(30_000).describe("the flood limit's sliding window"),
    CHAT_HOLD_TIMEOUT_MS: intBetween(1_000, 600_000, 60_000).describe(
      'how long a held message waits for a moderator or the AI (1000–600000)',
    ),
    CHAT_HOLD_TIMEOUT_ACTION: z
      .enum(['deny', 'release'])
      .default('deny')
      .describe('what happens to a held message when the hold times out'),
    CHAT_HISTORY_SIZE: intBetween(0, 500, 50).describe('recent messages a joining client receives (0–500)'),
    CHAT_ANONYMOUS_VIEWERS: boolean(true).describe(
      'default for new streams: whether clients without a token may read (writing always needs a role)',
    ),
    CHAT_CONNECTIONS_PER_MINUTE: positiveInt(30).describe(
      'socket.io connections per user (per address when anonymous) a minute',
    ),
    CHAT_SOCKET_EVENTS_PER_10S: positiveInt(40).describe('events per socket per 10 s; at 3× the socket is dropped'),
  }),
  toConfig: (e) => ({
    chat: {
      maxMessageLength: e.CHAT_MAX_MESSAGE_LENGTH,
      /** Messages per user per window (Twitch: 20 per 30 s, 100 for moderators and the broadcaster). */
      flood: {
        messages: e.CHAT_FLOOD_MESSAGES,
        privilegedMessages: e.CHAT_PRIVILEGED_FLOOD_MESSAGES,
        windowMs: e.CHAT_FLOOD_WINDOW_MS,
      },
      /** How long a held message waits for a moderator or the AI, and what happens then. */
      hold: { timeoutMs: e.CHAT_HOLD_TIMEOUT_MS, onTimeout: e.CHAT_HOLD_TIMEOUT_ACTION },
      historySize: e.CHAT_HISTORY_SIZE,
      /** Default for new streams: viewers without a role may read (never write). */
      anonymousViewers: e.CHAT_ANONYMOUS_VIEWERS,
      /** socket.io connections per user (or per address, for anonymous viewers) per minute. */
      connectionsPerMinute: e.CHAT_CONNECTIONS_PER_MINUTE,
      /** Events one socket may send per 10 s before they are refused (and, far past it, the socket dropped). */
      socketEventsPer10s: e.CHAT_SOCKET_EVENTS_PER_10S,
    },
  }),
});
