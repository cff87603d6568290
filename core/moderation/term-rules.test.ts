import { describe, expect, it } from 'vitest';
import { compileTerm, InvalidTermError, TermSet, type ChannelTerm } from './term-rules.ts';
import { foldForMatching } from './text-folding.ts';

const NOW = 1_800_000_000_000;
const term = (text: string, extra: Partial<ChannelTerm> = {}): ChannelTerm => ({
  id: `t-${text.length}-${text.charCodeAt(0)}`,
  kind: 'blocked',
  text,
  action: 'block',
  created_by: 'mod-1',
  created_at: NOW - 1_000,
  ...extra,
});
const matches = (terms: ChannelTerm[], message: string) =>
  new TermSet(terms, NOW).matches(message, foldForMatching(message)).map((t) => t.text);

describe('TermSet', () => {
  it.each([
    ['a whole word', 'spoiler', 'no spoilers please', []],
    ['a whole word', 'spoiler', 'that is a spoiler!', ['spoiler']],
    ['a trailing wildcard', 'crac*', 'crackers are crackling', ['crac*']],
    ['a leading wildcard', '*coin', 'buy dogecoin now', ['*coin']],
    ['a phrase', 'free followers', 'get FREE   followers here', ['free followers']],
    ['leetspeak and lookalikes', 'crac*', 'cr4ck and сrасk', ['crac*']],
    ['spaced out', 'scam', 's c a m alert', ['scam']],
    ['a regex on the raw text', '~/b[a@]d\\s*w[o0]rd/', 'such a B@D  W0RD', ['~/b[a@]d\\s*w[o0]rd/']],
    ['a regex that does not match', '~/^!drop/', 'please !drop it', []],
  ])('%s: %j in %j', (_name, text, message, expected) => {
    expect(matches([term(text)], message)).toEqual(expected);
  });

  it('skips expired terms', () => {
    expect(
      matches([term('old', { expires_at: NOW - 1 }), term('current', { expires_at: NOW + 60_000 })], 'old and current'),
    ).toEqual(['current']);
  });

  it('reports every matching term', () => {
    expect(matches([term('alpha'), term('~/beta/'), term('gamma')], 'alpha beta')).toEqual(['alpha', '~/beta/']);
  });
});

describe('compileTerm', () => {
  it.each([
    ['a catastrophic regex', '~/(a+)+$/', /nested quantifiers/],
    ['only wildcards', '***', /at least one letter/],
    ['only punctuation', '!!!', /at least one letter/],
    ['too long', 'x'.repeat(61), /longer than 60/],
  ])('rejects %s', (_name, text, reason) => {
    expect(() => compileTerm(term(text))).toThrow(InvalidTermError);
    expect(() => compileTerm(term(text))).toThrow(reason);
  });
});
