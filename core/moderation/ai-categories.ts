import type { PolicyCategory } from './findings.ts';

/**
 * Which channel-policy category an AI category belongs to: OpenAI's moderation categories, and
 * the names the guard model's hazard codes are mapped to (`guard-chat-classifier.ts`). Null: not
 * something a chat policy acts on (non-violent illicit content — "where do I buy a VPN" — is not
 * a chat violation), so an AI flag for it alone removes or denies nothing.
 */
const POLICY_CATEGORY_OF_AI: Record<string, Exclude<PolicyCategory, 'spam'> | null> = {
  hate: 'identity',
  'hate/threatening': 'identity',
  harassment: 'aggression',
  'harassment/threatening': 'aggression',
  violence: 'aggression',
  'violence/graphic': 'aggression',
  'illicit/violent': 'aggression',
  'self-harm': 'aggression',
  'self-harm/intent': 'aggression',
  'self-harm/instructions': 'aggression',
  privacy: 'aggression',
  sexual: 'sexual',
  'sexual/minors': 'sexual',
  illicit: null,
};

/** The policy category of an AI category; unknown names count as aggression rather than being ignored. */
export function policyCategoryOfAi(name: string): Exclude<PolicyCategory, 'spam'> | null {
  return name in POLICY_CATEGORY_OF_AI ? POLICY_CATEGORY_OF_AI[name]! : 'aggression';
}
