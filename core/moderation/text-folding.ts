/**
 * Folding chat text into a canonical form for matching, so the usual evasions meet the same rule
 * as the plain word: lookalike letters (Cyrillic "а", Greek "ο", dotless "ı", fullwidth and
 * mathematical letters), diacritics and zalgo marks, zero-width characters, leetspeak ("sh1t",
 * "$hit"), spaced-out letters ("f u c k", "f.u.c.k") and stretched letters ("fuuuuck").
 *
 * The folded text is for comparison only, never for display.
 */

/** Lookalikes that NFKD does not decompose to Latin (Unicode confusables, the ones seen in chat). */
const LOOKALIKES: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ɡ: 'g',
  һ: 'h',
  ԛ: 'q',
  ԝ: 'w',
  ь: 'b',
  ү: 'y',
  ӏ: 'l',
  // Greek
  α: 'a',
  β: 'b',
  γ: 'y',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  // Latin extensions and symbols
  ı: 'i',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ħ: 'h',
  ŧ: 't',
  ƒ: 'f',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  þ: 'p',
  ð: 'd',
  ɑ: 'a',
  ɛ: 'e',
  ɪ: 'i',
  ʀ: 'r',
  ʏ: 'y',
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ɢ: 'g',
  ʜ: 'h',
  ᴊ: 'j',
  ᴋ: 'k',
  ʟ: 'l',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ǫ: 'q',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ᴢ: 'z',
  ℓ: 'l',
  '¡': 'i',
};

/** Leetspeak, applied only inside tokens that also contain a letter, so "2020" and "100%" stay numbers. */
const LEET: Record<string, string> = {
  '4': 'a',
  '@': 'a',
  '8': 'b',
  '(': 'c',
  '3': 'e',
  '6': 'g',
  '9': 'g',
  '1': 'i',
  '!': 'i',
  '|': 'i',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
  '+': 't',
  '2': 'z',
};

const ASCII_ONLY = /^[\x20-\x7e]*$/;
// Combining marks (diacritics, zalgo) and invisible format characters (zero-width space/joiner, bidi controls).
const MARKS_AND_INVISIBLES = /[\p{M}\p{Cf}]/gu;
const NON_ASCII = /[\u0080-\u{10ffff}]/gu;
// Three or more one-character tokens, each pair separated by one or two spaces or punctuation marks: "f u c k", "f.u.c.k", "s-h-i-t".
const SPACED_OUT = /(?<![\p{L}\p{N}])[\p{L}\p{N}@$!|](?:[ .\-_*,~'`^:;/]{1,2}[\p{L}\p{N}@$!|]){2,}(?![\p{L}\p{N}])/gu;
// The same for ASCII text, where it need not pay for Unicode property classes.
const SPACED_OUT_ASCII = /(?<![A-Za-z0-9])[A-Za-z0-9@$!|](?:[ .\-_*,~'`^:;/]{1,2}[A-Za-z0-9@$!|]){2,}(?![A-Za-z0-9])/g;
const SPACED_SEPARATORS = /[ .\-_*,~'`^:;/]/g;
const WHITESPACE = /\s+/;

/** NFKD, lookalikes to Latin, marks and invisibles removed; case kept. Identity for printable ASCII. */
export function toLatinSkeleton(text: string): string {
  if (ASCII_ONLY.test(text)) return text;
  return text
    .normalize('NFKD')
    .replace(MARKS_AND_INVISIBLES, '')
    .replace(NON_ASCII, (ch) => LOOKALIKES[ch] ?? LOOKALIKES[ch.toLowerCase()] ?? ch);
}

/** Joins letters spelled out one by one: "f u c k" → "fuck", "n.i.c.e" → "nice". */
export function joinSpacedOutLetters(text: string): string {
  return text.replace(ASCII_ONLY.test(text) ? SPACED_OUT_ASCII : SPACED_OUT, (run) =>
    run.replace(SPACED_SEPARATORS, ''),
  );
}

/** "fuuuuck" → "fuck", "cool" → "col": every run of one character becomes one. */
export function collapseRepeats(text: string): string {
  let out = '';
  let previous = '';
  for (const ch of text) {
    if (ch !== previous) out += ch;
    previous = ch;
  }
  return out;
}

/** LEET as char codes: LEET_CODE[c] is the letter's code, 0 when c is not leetspeak. */
const LEET_CODE = new Uint8Array(128);
for (const [symbol, letter] of Object.entries(LEET)) LEET_CODE[symbol.charCodeAt(0)] = letter.charCodeAt(0);
const SPACE = 32;
const ASTERISK = 42;
const isLetterCode = (c: number) => c >= 97 && c <= 122;
const isWordCode = (c: number) => isLetterCode(c) || (c >= 48 && c <= 57) || c === ASTERISK;
// Sentence punctuation around a word ("wow!!!", "(hi)") is not leetspeak; "$" and "@" may be.
const isWordEdgeCode = (c: number) => isWordCode(c) || c === 36 || c === 64;

/**
 * One whitespace-separated token in matching form: edge punctuation trimmed, digits and symbols
 * read as letters when the token is mostly letters ("sh1t", "a$$", but not "1080p"), other
 * symbols turned into word breaks, and repeated characters collapsed. Empty when nothing is left.
 */
function foldToken(token: string): string {
  let first = 0;
  let last = token.length - 1;
  while (first <= last && !isWordEdgeCode(token.charCodeAt(first))) first++;
  while (last >= first && !isWordEdgeCode(token.charCodeAt(last))) last--;
  if (first > last) return '';
  let letters = 0;
  let leet = 0;
  for (let i = first; i <= last; i++) {
    const c = token.charCodeAt(i);
    if (isLetterCode(c)) letters++;
    else if (c < 128 && LEET_CODE[c]) leet++;
  }
  const readLeet = letters > 0 && leet <= letters + 1;
  const codes: number[] = [];
  let previous = SPACE;
  for (let i = first; i <= last; i++) {
    let c = token.charCodeAt(i);
    if (readLeet && c < 128 && LEET_CODE[c]) c = LEET_CODE[c]!;
    if (!isWordCode(c)) c = SPACE;
    if (c !== previous) codes.push(c);
    previous = c;
  }
  if (previous === SPACE) codes.pop();
  return String.fromCharCode(...codes);
}

/**
 * The canonical matching form: lowercase Latin words separated by single spaces, with lookalikes,
 * marks, leetspeak, spacing and repeats folded away. `*` survives, so masked words ("f*ck") can
 * still meet a wildcard term.
 */
export function foldForMatching(text: string): string {
  return foldLatin(toMatchingLatin(text));
}

/** `toLatinSkeleton` then `joinSpacedOutLetters`: the form offensive-language matching reads. */
export function toMatchingLatin(text: string): string {
  return joinSpacedOutLetters(toLatinSkeleton(text));
}

/** `foldForMatching` for text that already went through `toMatchingLatin`. */
export function foldLatin(latin: string): string {
  const words: string[] = [];
  for (const token of latin.toLowerCase().split(WHITESPACE)) {
    const folded = token ? foldToken(token) : '';
    if (folded) words.push(folded);
  }
  return words.join(' ');
}
