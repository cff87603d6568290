import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import { describe, expect, it } from 'vitest';
import { OffensiveLanguageDetector } from './offensive-language.ts';
import { foldLatin, toMatchingLatin } from './text-folding.ts';

const detector = new OffensiveLanguageDetector();
const detect = (text: string) => {
  const latin = toMatchingLatin(text);
  return detector.detect(latin, foldLatin(latin));
};
const rulesOf = (text: string) => detect(text).map((f) => `${f.rule}:${f.severity}`);

describe('OffensiveLanguageDetector', () => {
  it.each([
    ['plain swearing', 'what the fuck', ['profanity.word:1']],
    ['spaced out', 'f u c k this', ['profanity.word:1']],
    ['dotted', 'f.u.c.k', ['profanity.word:1']],
    ['stretched', 'fuuuuuuck', ['profanity.word:1']],
    ['leetspeak', 'sh1t and $hit', ['profanity.word:1']],
    ['Cyrillic lookalikes', 'ѕhіt', ['profanity.word:1']],
    ['dotless i in a slur', 'nıgger', ['identity.slur:4']],
    ['slur spelled out', 'n i g g e r', ['identity.slur:4']],
    ['fullwidth', 'ｆｕｃｋ', ['profanity.word:1']],
    ['phonetic spelling obscenity misses', 'phuck off', ['profanity.word:1']],
    ['sexual term', 'watch porn', ['sexual.word:2']],
    ['slur obscenity lacks', 'go home beaner', ['identity.slur:4']],
    // Plural and inflected forms of listed words.
    ['a plural obscenity misses', 'trannies', ['identity.slur:4']],
    ['a variant spelling in the plural', 'spicks', ['identity.slur:4']],
    ['an inflection obscenity misses', 'raping', ['aggression.word:4']],
    ['plural', 'kikes and chinks', ['identity.slur:4', 'identity.slur:4']],
    ['past tense', 'raped', ['aggression.word:4']],
    ['self-harm encouragement', 'just kys', ['aggression.self_harm:4']],
    ['self-harm, spaced and stretched', 'k y s', ['aggression.self_harm:4']],
    ['self-harm in leetspeak', 'k1ll yourself', ['aggression.self_harm:4']],
    ['threat', "i'll kill you", ['aggression.threat:4']],
    ['directed insult', 'you are so stupid', ['aggression.insult:2']],
    ['dismissive', 'stfu', ['aggression.dismissive:1']],
  ])('%s: %j', (_name, text, expected) => {
    expect(rulesOf(text)).toEqual(expected);
  });

  it.each([
    'assassin',
    'a classic class assignment',
    'Scunthorpe United',
    'a cocktail in Essex',
    'shitake mushrooms',
    'the therapist was great',
    'grapes and peacocks',
    'Dickens wrote novels',
    'spicy food',
    'new shoes and a horse',
    'as soon as possible',
    'I kill it in this game',
    'you are amazing',
    'what a stupid bug in the game',
  ])('finds nothing in %j', (text) => {
    expect(detect(text)).toEqual([]);
  });

  it.each([
    ['the muzzies are at it again', 'muzzie'],
    ['go home mudslimes', 'mudslime'],
    ['look at that sheboon', 'sheboon'],
    ['jigaboos everywhere', 'jigaboo'],
    ['another mudshark', 'mudshark'],
    ['pakis out', 'paki'],
    ['the yids again', 'yid'],
    ['some zhid said so', 'zhid'],
  ])('finds the slur in %j', (text, word) => {
    expect(detect(text)).toContainEqual(expect.objectContaining({ rule: 'identity.slur', detail: word }));
  });

  it.each(['flights to pakistan', 'she speaks yiddish', 'put a muzzle on the dog'])('finds no slur in %j', (text) => {
    expect(detect(text)).toEqual([]);
  });

  it('names the word and reports each word once', () => {
    expect(detect('fuck fuck FUCK')).toEqual([{ rule: 'profanity.word', severity: 1, detail: 'fuck' }]);
  });

  // The compiled matcher must agree with obscenity's own RegExpMatcher on obscenity's words (given
  // the same input: lookalikes and spaced-out letters resolved first, which obscenity misses).
  it('finds exactly the words obscenity finds, under many obfuscations', () => {
    const reference = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
    const words = [
      'fuck',
      'shit',
      'bitch',
      'cunt',
      'nigger',
      'nigga',
      'fag',
      'whore',
      'slut',
      'porn',
      'dick',
      'cock',
      'ass',
      'sex',
      'orgasm',
      'bollocks',
      'wanker',
      'retard',
      'tranny',
      'kike',
      'chink',
      'pussy',
      'blowjob',
      'dildo',
      'twat',
      'anal',
      'boob',
      'tits',
      'rape',
      'hentai',
    ];
    const obfuscations: Array<(w: string) => string> = [
      (w) => w,
      (w) => w.toUpperCase(),
      (w) => `the ${w}s are here`,
      (w) => w.replace(/a/g, '@').replace(/i/g, '1').replace(/o/g, '0').replace(/s/g, '$').replace(/e/g, '3'),
      (w) => w.replace(/([aeiou])/g, '$1$1$1'),
      (w) => [...w].join('.'),
      (w) => `x${w}x`,
      (w) => `${w}-${w}`,
      (w) => w.replace(/a/g, 'а').replace(/o/g, 'о').replace(/e/g, 'е'),
      (w) => `(${w})!!`,
      (w) => w.replace(/u/g, '*'),
      (w) => `@my_${w}_name`,
      (w) => `${w}9 and 8${w}`,
      (w) => `not a ${w.slice(0, -1)}`,
    ];
    let compared = 0;
    for (const word of words) {
      for (const obfuscate of obfuscations) {
        const text = obfuscate(word);
        const expected = new Set(
          reference
            .getAllMatches(toMatchingLatin(text))
            .map((m) => englishDataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord),
        );
        const found = new Set(
          detect(text)
            .filter((f) => !f.rule.startsWith('aggression.') || f.rule === 'aggression.word')
            .map((f) => f.detail),
        );
        expect(found, JSON.stringify(text)).toEqual(expected);
        compared++;
      }
    }
    expect(compared).toBe(words.length * obfuscations.length);
  });
});
