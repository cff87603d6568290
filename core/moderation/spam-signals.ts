import type { Finding, Severity } from './findings.ts';

/**
 * Spam signals in the spirit of Nightbot's and StreamElements' filters (caps, symbols, emotes,
 * links, repetitions, paragraph) plus zalgo and mention floods. Each measure is a plain function
 * of the text; `spamFindings` turns them into findings with a severity the channel's spam level
 * acts on. The thresholds are ours: Nightbot and StreamElements do not publish defaults (one
 * StreamElements configuration seen: caps at 60% of at least 8 characters; peer bots use 70%).
 */

// Extended_Pictographic covers emoji; a zero-width-joiner sequence (👨‍👩‍👧) or a skin tone is
// still one emoji, and a pair of regional indicators is one flag.
const EMOJI =
  /\p{Extended_Pictographic}\p{Emoji_Modifier}?\ufe0f?(?:\u200d\p{Extended_Pictographic}\p{Emoji_Modifier}?\ufe0f?)*|\p{Regional_Indicator}{2}/gu;
const EMOJI_JOINERS = /\u200d|\ufe0f|\u20e3|\p{Emoji_Modifier}/gu;
// Emoji are never printable ASCII: most messages skip the Unicode-property scans.
const HAS_NON_ASCII = /[^\u0020-\u007e\s]/;
const SHORTCODE = /(?<![\w:]):[a-z0-9_+-]{2,32}:(?![\w:])/gi;
const COMBINING_MARK = /\p{M}/u;
const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;
const WHITESPACE = /\s/u;
const ALPHANUMERIC = /[\p{L}\p{N}]/u;
const MENTION = /(?<![\w@])@[\w.]{2,32}/g;

/**
 * Bare domains and URLs: scheme://…, www.…, a YouTube `watch?v=` path, and name.tld for common
 * TLDs (so "example.com" and "bit.ly/x" count, "e.g." and "v1.2" do not). Dots written as " dot ",
 * "(.)" or " . " count too. Each repetition needs a separator no name character can be, so
 * backtracking stays linear.
 */
const LINK =
  /\b(?:https?:\/\/|www\.)[^\s<>]+|\/?\bwatch\?v=[\w-]{6,}|(?<![@\w.-])(?:[a-z0-9-]{1,63}(?:\.|\s*\(\.\)\s*|\s+dot\s+|\s+\.\s*))+(?:com|net|org|io|gg|tv|ly|me|co|us|uk|de|ru|info|biz|xyz|live|app|link|site|online|shop|store|club|top|tk|ml|ga|cf|gq|fm|be|to|cc|ws|pw|sh|dev|ai|int|eu|ca|au|in|br|fr|jp|cn|nl|es|it|pl|se|ch|no)\b(?:\/[^\s]*)?/gi;

/**
 * Self-promotion (the YouTube comment-spam pattern, and the chat-raid one): asking for subscribers,
 * follows or views of one's own channel, sub-for-sub, and money or freebie bait.
 */
const SELF_PROMOTION = new RegExp(
  [
    String.raw`\b(?:check|look|watch)(?: out)? (?:my|our) (?:new |first |latest |own )?(?:channel|page|profile|stream|video|vid|music|song|mixtape|instagram|insta|twitch|youtube|tiktok|website|site|blog|remix|clip)`,
    String.raw`\bcheck (?:me|us) out\b`,
    String.raw`\b(?:sub(?:scribe)?|suscribe|subcribe|follow) (?:to )?(?:me|my|our|us)\b`,
    String.raw`\b(?:i'?ll|i will|and i) (?:sub(?:scribe)?|follow) (?:you )?back\b`,
    String.raw`\b(?:sub ?4 ?sub|sub ?for ?sub|follow ?4 ?follow|f4f|s4s|l4l|like ?4 ?like)\b`,
    String.raw`\b(?:visit|go to) my (?:channel|page|profile|website|site|videos?|vids?)`,
    String.raw`\bmy (?:youtube|yt|twitch|tiktok|insta(?:gram)?) (?:channel|account|page)\b`,
    String.raw`\b(?:earn|make) \$?\d[\d,.]*k? (?:a|per|every) (?:day|week|month|hour)`,
    String.raw`\bfree (?:v-?bucks|robux|gift ?cards?|followers|subs|subscribers|money|iphone)`,
  ].join('|'),
  'i',
);

export interface TextShape {
  /** Letters, any script. */
  letters: number;
  upper: number;
  /** Not a letter, digit, whitespace or emoji. */
  symbols: number;
  /** Base characters (grapheme starts), not counting whitespace. */
  visible: number;
  /** Most combining marks stacked on one base character. */
  maxMarksOnOneChar: number;
  combiningMarks: number;
  /** Longest run of one repeated character. */
  longestCharRun: number;
}

/** Counts in one pass over the code points (ASCII without regular expressions, the common case). */
export function measureShape(text: string): TextShape {
  const shape: TextShape = {
    letters: 0,
    upper: 0,
    symbols: 0,
    visible: 0,
    maxMarksOnOneChar: 0,
    combiningMarks: 0,
    longestCharRun: 0,
  };
  let marksOnCurrent = 0;
  let previous = '';
  let run = 0;
  const withoutEmoji = HAS_NON_ASCII.test(text) ? text.replace(EMOJI, '').replace(EMOJI_JOINERS, '') : text;
  for (const ch of withoutEmoji) {
    const code = ch.charCodeAt(0);
    if (code >= 0x300 && COMBINING_MARK.test(ch)) {
      shape.combiningMarks++;
      marksOnCurrent++;
      if (marksOnCurrent > shape.maxMarksOnOneChar) shape.maxMarksOnOneChar = marksOnCurrent;
      continue;
    }
    marksOnCurrent = 0;
    run = ch === previous ? run + 1 : 1;
    previous = ch;
    const space = code === 32 || (code < 128 ? code >= 9 && code <= 13 : WHITESPACE.test(ch));
    if (space) continue;
    if (run > shape.longestCharRun) shape.longestCharRun = run;
    shape.visible++;
    if (code < 128) {
      const upper = code >= 65 && code <= 90;
      if (upper || (code >= 97 && code <= 122)) {
        shape.letters++;
        if (upper) shape.upper++;
      } else if (code < 48 || code > 57) {
        shape.symbols++;
      }
    } else if (LETTER.test(ch)) {
      shape.letters++;
      if (UPPER.test(ch)) shape.upper++;
    } else if (!ALPHANUMERIC.test(ch)) {
      shape.symbols++;
    }
  }
  return shape;
}

/** Emoji and `:shortcode:` emotes, plus the channel's own emote names written as words. */
export function countEmotes(text: string, channelEmotes: ReadonlySet<string> = new Set()): number {
  let count = (HAS_NON_ASCII.test(text) ? (text.match(EMOJI)?.length ?? 0) : 0) + (text.match(SHORTCODE)?.length ?? 0);
  if (channelEmotes.size > 0) {
    for (const word of text.split(/\s+/)) if (channelEmotes.has(word)) count++;
  }
  return count;
}

/** True when the message is nothing but emotes (Twitch's emote-only mode). */
export function isEmoteOnly(text: string, channelEmotes: ReadonlySet<string> = new Set()): boolean {
  const rest = text
    .replace(EMOJI, '')
    .replace(EMOJI_JOINERS, '')
    .replace(SHORTCODE, '')
    .split(/\s+/)
    .filter((word) => word !== '' && !channelEmotes.has(word));
  return rest.length === 0 && countEmotes(text, channelEmotes) > 0;
}

export function findLinks(text: string): string[] {
  return [...text.matchAll(LINK)].map((m) => m[0]);
}

/** The host of a link ("https://www.Clips.example.com/x" → "clips.example.com"), for allow-lists. */
export function linkHost(link: string): string {
  return link
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/\s*\(\.\)\s*|\s+dot\s+/g, '.')
    .split(/[/?#:]/, 1)[0]!;
}

/** True when `host` is one of `allowed` or a subdomain of one. */
export function isAllowedHost(host: string, allowed: readonly string[]): boolean {
  return allowed.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

/** The same word (case-insensitively) said many times in a row: "lol lol lol lol lol lol". */
export function longestWordRepeat(text: string): number {
  let best = 0;
  let run = 0;
  let previous = '';
  for (const word of text.toLowerCase().split(/\s+/)) {
    if (!word) continue;
    run = word === previous ? run + 1 : 1;
    previous = word;
    if (run > best) best = run;
  }
  return best;
}

export interface SpamSignalOptions {
  channelEmotes?: ReadonlySet<string>;
  /** Domains links may point to without counting as spam (subdomains included). */
  allowedLinkDomains?: readonly string[];
  /** The sender holds a moderator's link permit. */
  linkPermitted?: boolean;
}

/** The highest severity whose condition holds, 0 when none does. */
function gradedSeverity(...levels: Array<[boolean, Severity]>): Severity | 0 {
  let best: Severity | 0 = 0;
  for (const [hit, severity] of levels) if (hit && severity > best) best = severity;
  return best;
}

/** Spam findings for one message. */
export function spamFindings(text: string, options: SpamSignalOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const shape = measureShape(text);

  const capsRatio = shape.letters > 0 ? shape.upper / shape.letters : 0;
  const caps = gradedSeverity(
    [shape.letters >= 12 && capsRatio >= 0.7, 2],
    [shape.letters >= 25 && capsRatio >= 0.9, 3],
  );
  if (caps) findings.push({ rule: 'spam.caps', severity: caps, detail: `${Math.round(capsRatio * 100)}% capitals` });

  const symbolRatio = shape.visible > 0 ? shape.symbols / shape.visible : 0;
  const symbols = gradedSeverity(
    [shape.visible >= 12 && symbolRatio >= 0.5, 2],
    [shape.visible >= 30 && symbolRatio >= 0.8, 3],
  );
  if (symbols)
    findings.push({ rule: 'spam.symbols', severity: symbols, detail: `${Math.round(symbolRatio * 100)}% symbols` });

  const emoteCount = countEmotes(text, options.channelEmotes);
  const emotes = gradedSeverity([emoteCount >= 10, 2], [emoteCount >= 25, 3]);
  if (emotes) findings.push({ rule: 'spam.emotes', severity: emotes, detail: `${emoteCount} emotes` });

  // Vietnamese stacks two marks on a letter; zalgo stacks many.
  const zalgo = gradedSeverity(
    [shape.maxMarksOnOneChar >= 3 && shape.combiningMarks >= 6, 3],
    [shape.maxMarksOnOneChar >= 6 || shape.combiningMarks >= 30, 4],
  );
  if (zalgo) findings.push({ rule: 'spam.zalgo', severity: zalgo, detail: `${shape.combiningMarks} combining marks` });

  const wordRepeat = longestWordRepeat(text);
  const repetition = gradedSeverity(
    [shape.longestCharRun >= 15 || wordRepeat >= 8, 2],
    [shape.longestCharRun >= 40 || wordRepeat >= 20, 3],
  );
  if (repetition)
    findings.push({ rule: 'spam.repetition', severity: repetition, detail: 'repeated characters or words' });

  const mentionCount = text.match(MENTION)?.length ?? 0;
  const mentions = gradedSeverity([mentionCount >= 5, 2], [mentionCount >= 10, 3]);
  if (mentions) findings.push({ rule: 'spam.mentions', severity: mentions, detail: `${mentionCount} mentions` });

  if (!options.linkPermitted) {
    const link = findLinks(text).find((l) => !isAllowedHost(linkHost(l), options.allowedLinkDomains ?? []));
    if (link) findings.push({ rule: 'spam.links', severity: 3, detail: link });
  }

  const promotion = SELF_PROMOTION.exec(text);
  if (promotion) findings.push({ rule: 'spam.promotion', severity: 3, detail: promotion[0] });

  return findings;
}
