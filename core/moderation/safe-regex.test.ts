import { describe, expect, it } from 'vitest';
import { assertRegexFinishesQuickly, compileSafeRegex, UnsafeRegexError } from './safe-regex.ts';

describe('compileSafeRegex', () => {
  it.each([
    ['b[a@4]d\\s*word'],
    ['^buy (cheap|free) (followers|viewers)'],
    ['(foo|bar)?baz'],
    ['\\bcr[a4]ck\\b'],
    ['v-?bucks'],
    ['a{2,5}b'],
  ])('accepts %j and matches case-insensitively', (source) => {
    const regex = compileSafeRegex(source);
    expect(regex.flags).toBe('iu');
  });

  it.each([
    ['(a+)+$', /nested quantifiers/],
    ['(\\w+\\s?)*x', /nested quantifiers/],
    ['(a*)*', /nested quantifiers/],
    ['(a|aa)*b', /alternatives/],
    ['(x+x+)+y', /nested quantifiers/],
    ['(a)\\1', /backreferences/],
    ['(?<n>a)\\k<n>', /backreferences/],
    ['(?=a)a', /lookahead/],
    ['(?<!a)b', /lookahead and lookbehind/],
    ['\\w*\\w*\\w*\\w*\\w*x', /unbounded repetitions/],
    ['a*', /empty message/],
    ['(unclosed', /Invalid regular expression|unbalanced/],
    ['', /empty/],
    ['a'.repeat(261), /longer than 260/],
  ])('rejects %j', (source, reason) => {
    expect(() => compileSafeRegex(source)).toThrow(UnsafeRegexError);
    expect(() => compileSafeRegex(source)).toThrow(reason);
  });

  it('passes linear patterns through the timed probe', async () => {
    await expect(assertRegexFinishesQuickly('b[a@4]d\\s*word')).resolves.toBeUndefined();
  });

  it('stops a polynomial pattern that passes the structure checks at the probe deadline', async () => {
    // Four unbounded repetitions pass the structure checks; on a 2,000-character probe this is O(n^4).
    const source = '\\s*\\s*\\s*\\s*x';
    expect(compileSafeRegex(source)).toBeInstanceOf(RegExp);
    const started = Date.now();
    await expect(assertRegexFinishesQuickly(source, 1_000)).rejects.toThrow(
      /did not finish a 2000-character probe within 1000 ms|took \d+ ms/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
