import { foldForMatching } from '../../core/moderation/text-folding.ts';

/**
 * What a chat message says about being a question and about its topic, from its words alone.
 * English heuristics: a question mark, or a sentence opening the way questions do.
 */

const INTERROGATIVE_OPENERS = new Set([
  'who',
  'what',
  'whats',
  'when',
  'where',
  'why',
  'how',
  'which',
  'whose',
  'whom',
  'is',
  'are',
  'was',
  'were',
  'do',
  'does',
  'did',
  'can',
  'could',
  'will',
  'would',
  'should',
  'shall',
  'may',
  'might',
  'have',
  'has',
  'had',
  'am',
  'isnt',
  'arent',
  'dont',
  'doesnt',
  'didnt',
  'cant',
  'wont',
]);

/** Openers that ask without an interrogative word: "anyone know the song", "any tips for …". */
const ASKING_PHRASES = [
  /^(does )?any ?(one|body) (know|have|tried)\b/,
  /^any (tips|idea|ideas|news|update|updates)\b/,
  /^(pls|please) (explain|tell)\b/,
];

const STOPWORDS = new Set(
  (
    'the a an and or but if then than that this these those there here of to in on at by for with from about as into ' +
    'is are was were be been being am do does did done have has had having will would can could should shall may might must ' +
    'i me my mine you your yours he him his she her it its we us our they them their what who whom whose when where why how which ' +
    'not no yes so too very just also any some all more most much many such only own same again ever even still ' +
    'lol lmao haha omg pls please hey hi hello guys chat stream streamer today now know think get got going really'
  )
    .split(' ')
    // Compared after folding, which also collapses repeated letters ("too" → "to").
    .map((word) => foldForMatching(word)),
);

const WORD = /[\p{L}\p{N}']+/gu;

/** Lowercased words without apostrophes: "What's up?" → ["whats", "up"]. */
export function wordsOf(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/'/g, ''));
}

/** True for questions: a `?` after some words, or two or more words opening as a question does. Commands (`!clip`) are not. */
export function isQuestion(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed.startsWith('!')) return false;
  const words = wordsOf(trimmed);
  if (words.length === 0) return false;
  if (trimmed.includes('?')) return words.some((w) => /\p{L}{2,}/u.test(w));
  if (words.length < 2) return false;
  if (INTERROGATIVE_OPENERS.has(words[0]!)) return true;
  const opening = words.slice(0, 4).join(' ');
  return ASKING_PHRASES.some((phrase) => phrase.test(opening));
}

/**
 * The sentence of a message that asks: "wow. what time is the giveaway? lol" → "what time is the
 * giveaway?". The whole message when no sentence ends in `?`.
 */
export function askingSentence(text: string): string {
  const sentences =
    text
      .match(/[^.!?\n]*\?+/g)
      ?.map((s) => s.trim())
      .filter((s) => wordsOf(s).length > 0) ?? [];
  return sentences.at(-1) ?? text.trim();
}

/** Words that carry the topic: folded (leetspeak, lookalikes), at least 3 letters, not stopwords or numbers. */
export function contentTerms(text: string): string[] {
  const terms = foldForMatching(text)
    .split(' ')
    .filter((w) => w.length >= 3 && !/^\d+$/.test(w) && !STOPWORDS.has(w));
  return [...new Set(terms)];
}
