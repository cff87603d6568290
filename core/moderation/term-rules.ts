import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from '../schemas/common.ts';
import { assertRegexFinishesQuickly, compileSafeRegex, UnsafeRegexError } from './safe-regex.ts';
import { foldForMatching } from './text-folding.ts';

/**
 * A channel's own terms, Twitch-style: blocked terms (with a `*` wildcard, optionally expiring)
 * and permitted terms AutoMod must never catch. A term written `~/pattern/` is a regular
 * expression (Nightbot's syntax), checked by `compileSafeRegex`. Plain and wildcard terms are
 * matched on folded text, so "cr4ck", "c r a c k" and "crааck" (Cyrillic а) all meet `crac*`;
 * regular expressions see the message as written, case-insensitively.
 */

/** Discord caps keyword rules at 60 characters and 1,000 keywords. */
export const MAX_TERM_LENGTH = 60;
export const MAX_TERMS_PER_CHANNEL = 1_000;

export const ChannelTerm = Type.Object(
  {
    id: Id('Term id'),
    kind: Type.Union([Type.Literal('blocked'), Type.Literal('permitted')]),
    text: Type.String({
      minLength: 1,
      maxLength: 270,
      description: 'A word or phrase with optional * wildcards, or ~/regex/',
    }),
    /** Blocked terms only: reject the message outright, or hold it for review. */
    action: Type.Union([Type.Literal('block'), Type.Literal('hold')]),
    expires_at: Type.Optional(EpochMs('When the term stops applying')),
    created_by: Id('Moderator who added it'),
    created_at: EpochMs('When it was added'),
  },
  { additionalProperties: false },
);
export type ChannelTerm = Static<typeof ChannelTerm>;

export class InvalidTermError extends Error {
  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`term ${JSON.stringify(text.slice(0, 80))} is invalid: ${reason}`);
    this.name = 'InvalidTermError';
  }
}

const REGEX_TERM = /^~\/(.*)\/$/s;

interface CompiledTerm {
  term: ChannelTerm;
  /** Tested against folded text (plain and wildcard terms) or the raw text (regex terms). */
  pattern: RegExp;
  onRawText: boolean;
}

/** Plain and wildcard terms as a regular expression over folded text, whole words unless a `*` says otherwise. */
function wildcardPattern(text: string): RegExp {
  const folded = foldForMatching(text);
  if (folded.replace(/[*\s]/g, '') === '') throw new InvalidTermError(text, 'needs at least one letter or digit');
  const body = folded
    .split('')
    .map((ch) => (ch === '*' ? '[a-z0-9]*' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`(?<![a-z0-9])${body}(?![a-z0-9])`);
}

/** Validates one term's text and compiles it; throws InvalidTermError naming the problem. */
export function compileTerm(term: ChannelTerm): CompiledTerm {
  const regexSource = REGEX_TERM.exec(term.text)?.[1];
  if (regexSource !== undefined) {
    try {
      return { term, pattern: compileSafeRegex(regexSource), onRawText: true };
    } catch (error) {
      if (error instanceof UnsafeRegexError) throw new InvalidTermError(term.text, error.reason);
      throw error;
    }
  }
  if (term.text.length > MAX_TERM_LENGTH)
    throw new InvalidTermError(term.text, `longer than ${MAX_TERM_LENGTH} characters`);
  return { term, pattern: wildcardPattern(term.text), onRawText: false };
}

/**
 * Full validation before a term is stored: `compileTerm`'s checks plus, for regular expressions,
 * the timed probe in a worker thread. Throws InvalidTermError naming the problem.
 */
export async function validateTerm(term: ChannelTerm): Promise<void> {
  const compiled = compileTerm(term);
  if (!compiled.onRawText) return;
  try {
    await assertRegexFinishesQuickly(compiled.pattern.source);
  } catch (error) {
    if (error instanceof UnsafeRegexError) throw new InvalidTermError(term.text, error.reason);
    throw error;
  }
}

/** A channel's live terms of one kind, compiled once and reused for every message. */
export class TermSet {
  private readonly compiled: CompiledTerm[];
  /** All folded-text terms in one alternation: the common "no term matches" answer in one scan. */
  private readonly anyFolded: RegExp | null;

  constructor(terms: readonly ChannelTerm[], now: number) {
    // Terms were validated when added; one that no longer compiles (e.g. a stricter check in a
    // newer version) is skipped rather than taking the channel's chat down.
    this.compiled = terms
      .filter((term) => term.expires_at === undefined || term.expires_at > now)
      .flatMap((term) => {
        try {
          return [compileTerm(term)];
        } catch (error) {
          if (error instanceof InvalidTermError) return [];
          throw error;
        }
      });
    const folded = this.compiled.filter((c) => !c.onRawText).map((c) => `(?:${c.pattern.source})`);
    this.anyFolded = folded.length > 0 ? new RegExp(folded.join('|')) : null;
  }

  get size(): number {
    return this.compiled.length;
  }

  /** Every term that matches: `raw` is the message as sent, `folded` its `foldForMatching` form. */
  matches(raw: string, folded: string): ChannelTerm[] {
    const hits: ChannelTerm[] = [];
    const foldedMayMatch = this.anyFolded?.test(folded) ?? false;
    for (const { term, pattern, onRawText } of this.compiled) {
      if (onRawText ? pattern.test(raw) : foldedMayMatch && pattern.test(folded)) hits.push(term);
    }
    return hits;
  }
}
