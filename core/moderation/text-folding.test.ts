import { describe, expect, it } from 'vitest';
import { collapseRepeats, foldForMatching, joinSpacedOutLetters, toLatinSkeleton } from './text-folding.ts';

describe('toLatinSkeleton', () => {
  it.each([
    ['plain ASCII is returned as is', 'Hello, World!', 'Hello, World!'],
    ['Cyrillic lookalikes', 'ѕhіt аnd рοrn', 'shit and porn'],
    ['Greek lookalikes', 'κιλλ', 'kiλλ'],
    ['dotless i', 'nıce', 'nice'],
    ['fullwidth letters', 'ｆｕｃｋ', 'fuck'],
    ['mathematical bold letters', '𝐟𝐮𝐜𝐤', 'fuck'],
    ['diacritics', 'fück fûck', 'fuck fuck'],
    ['zalgo marks', 'z̴̡̛a̸̢l̷g̵o̶', 'zalgo'],
    ['zero-width characters', 'fu\u200bck a\u200db\u2060c', 'fuck abc'],
    ['small capitals', 'ꜱʜɪᴛ', 'shit'],
  ])('%s', (_name, input, expected) => {
    expect(toLatinSkeleton(input)).toBe(expected);
  });
});

describe('joinSpacedOutLetters', () => {
  it.each([
    ['f u c k you', 'fuck you'],
    ['f.u.c.k', 'fuck'],
    ['s-h-i-t and s_h_i_t', 'shit and shit'],
    ['f  u  c  k', 'fuck'],
    ['a b is two letters only', 'a b is two letters only'],
    ['I am a big fan', 'I am a big fan'],
    ['as s o o n as', 'as soon as'],
  ])('%j → %j', (input, expected) => {
    expect(joinSpacedOutLetters(input)).toBe(expected);
  });
});

describe('collapseRepeats', () => {
  it.each([
    ['fuuuuuck', 'fuck'],
    ['cool', 'col'],
    ['', ''],
    ['aaa bbb', 'a b'],
  ])('%j → %j', (input, expected) => {
    expect(collapseRepeats(input)).toBe(expected);
  });
});

describe('foldForMatching', () => {
  it.each([
    ['case and sentence punctuation', 'Wow!!! (Hello)', 'wow helo'],
    ['leetspeak inside words', 'sh1t $hit a$$ h3ll0', 'shit shit as helo'],
    [
      'numbers stay numbers (repeats collapse in them too)',
      'Season 2021 in 1080p at 100%',
      'season 2021 in 1080p at 10',
    ],
    ['masked letters keep the asterisk', 'f*ck f**k', 'f*ck f*k'],
    ['spaced out and stretched', 'f u c k   yoooou', 'fuck you'],
    ['lookalikes', 'Сrаck', 'crack'],
    ['symbols inside a word split it', 'well-known e.g.', 'wel known e g'],
    ['empty and whitespace', '   ', ''],
  ])('%s', (_name, input, expected) => {
    expect(foldForMatching(input)).toBe(expected);
  });

  it('maps every evasion of one word to the same form', () => {
    const forms = ['crack', 'CRACK', 'cr4ck', 'c r a c k', 'crааck', 'craaaack', 'c.r.a.c.k', 'ｃｒａｃｋ'];
    expect(new Set(forms.map(foldForMatching))).toEqual(new Set(['crack']));
  });
});
