import type { Static } from '@sinclair/typebox';
import type { ModerationFlag } from '../schemas/chat.ts';

/**
 * The AutoMod-style categories a channel sets a level (0–4) for. Twitch's four areas
 * (discrimination/identity, sexual content, hostility, profanity) plus spam, which Twitch leaves to
 * bots like Nightbot but a live chat needs in the same policy.
 */
export const POLICY_CATEGORIES = ['identity', 'sexual', 'aggression', 'profanity', 'spam'] as const;
export type PolicyCategory = (typeof POLICY_CATEGORIES)[number];

/** 1 = mild (a swear word), 4 = severe (a slur, a threat). Higher channel levels act on lower severities. */
export type Severity = 1 | 2 | 3 | 4;

/**
 * One thing a rule found in a message. `rule` is dotted and starts with its category
 * (`identity.slur`, `spam.caps`), or with `terms.` for a channel's own blocked terms, which act
 * outside the levels.
 */
export interface Finding {
  rule: string;
  severity: Severity;
  detail?: string;
}

export function categoryOfRule(rule: string): PolicyCategory | 'terms' | 'ai' | undefined {
  const dot = rule.indexOf('.');
  const prefix = dot === -1 ? rule : rule.slice(0, dot);
  if (prefix === 'terms' || prefix === 'ai') return prefix;
  return (POLICY_CATEGORIES as readonly string[]).includes(prefix) ? (prefix as PolicyCategory) : undefined;
}

/** Findings as they travel on `chat.messages`: the score is the severity on a 0–1 scale. */
export function findingToFlag(finding: Finding): Static<typeof ModerationFlag> {
  return {
    category: finding.rule,
    score: finding.severity / 4,
    ...(finding.detail ? { detail: finding.detail.slice(0, 256) } : {}),
  };
}

/** What content classifiers judge; spam, links and a channel's own terms are for moderators only. */
const AI_JUDGED = new Set<string>(['identity', 'sexual', 'aggression', 'profanity']);

/**
 * True when every rule that held a message is one an AI content classifier can judge, so an AI
 * "nothing harmful" verdict may release it. A link or a blocked term waits for a moderator.
 */
export function aiCanClear(rules: readonly string[]): boolean {
  return rules.length > 0 && rules.every((rule) => AI_JUDGED.has(categoryOfRule(rule) ?? ''));
}
