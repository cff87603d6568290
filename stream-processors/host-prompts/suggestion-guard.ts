import { ChatModerator, type ChannelRules } from '../../core/moderation/moderate-message.ts';
import { findLinks } from '../../core/moderation/spam-signals.ts';
import { TermSet } from '../../core/moderation/term-rules.ts';
import type { Suggestion } from './suggestions.ts';

/**
 * The last check before a suggestion reaches a host: it passes the shared chat heuristics at the
 * strictest level (a host reads it aloud; mild profanity a channel tolerates in chat does not
 * belong in a suggestion) and carries no personal data: no links, e-mail addresses, phone numbers
 * or user ids. Display names are the only personal detail a prompt may carry, in `askers`.
 */
export type GuardRejection = 'moderation' | 'personal_data';

const STRICT_RULES: ChannelRules = {
  // Every content category at its strictest (4: acts on any severity); spam at the default level.
  levels: { identity: 4, aggression: 4, sexual: 4, profanity: 4, spam: 2 },
  blockedTerms: new TermSet([], 0),
  permittedTerms: new TermSet([], 0),
  channelEmotes: new Set(),
  allowedLinkDomains: [],
};

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}/u;
/** Seven or more digits, possibly grouped: phone numbers, card and account numbers. */
const LONG_NUMBER = /(?:\+|\b)\d(?:[\s().-]?\d){6,}\b/;
/** User ids shorter than this are too likely to be ordinary words or numbers to match on. */
const MIN_USER_ID_LENGTH = 6;

export class SuggestionGuard {
  constructor(private readonly moderator = new ChatModerator()) {}

  /** Why the suggestion must not be shown, or null when it may. `userIds`: the senders in its window. */
  check(suggestion: Pick<Suggestion, 'prompt' | 'rationale'>, userIds: Iterable<string>): GuardRejection | null {
    const ids = [...userIds].filter((id) => id.length >= MIN_USER_ID_LENGTH).map((id) => id.toLowerCase());
    for (const text of [suggestion.prompt, suggestion.rationale]) {
      const lower = text.toLowerCase();
      if (
        findLinks(text).length > 0 ||
        EMAIL.test(text) ||
        LONG_NUMBER.test(text) ||
        ids.some((id) => lower.includes(id))
      )
        return 'personal_data';
      if (this.moderator.moderate(text, STRICT_RULES).decision !== 'allow') return 'moderation';
    }
    return null;
  }
}
