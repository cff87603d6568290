import { describe, expect, it } from 'vitest';
import { foldForMatching } from '../text-folding.ts';
import { CLASSIFIER_MIN_WORDS, CLASSIFIER_RULE, committedHateClassifier } from './hate-classifier.ts';

const classifier = committedHateClassifier();
const finding = (text: string) => classifier.finding(foldForMatching(text));

describe('the committed hate classifier', () => {
  it('is the small int8 model the model card describes', () => {
    expect(classifier.model.header).toMatchObject({ version: 1, bits: 18 });
    expect(Number.isFinite(classifier.model.header.threshold)).toBe(true);
  });

  // "women are too emotional to lead" scores p=0.69, under the threshold calibrated for the rules
  // and the classifier together (model card, "Known failure modes").
  it.each(['jews are greedy and control the banks', 'women belong in the kitchen', 'being gay is disgusting'])(
    'holds %j for review',
    (text) => {
      expect(finding(text)).toMatchObject({
        rule: CLASSIFIER_RULE,
        severity: 3,
        detail: expect.stringMatching(/^p=0\.\d\d$/) as unknown,
      });
    },
  );

  it.each([
    'great stream, what keyboard is that?',
    'I am gay',
    'hug a trans person today',
    'she is a great streamer',
    'that play was stupid lol',
  ])('lets %j pass', (text) => {
    expect(finding(text)).toBeNull();
  });

  it(`leaves texts of fewer than ${CLASSIFIER_MIN_WORDS} words to the word lists`, () => {
    expect(classifier.probability(foldForMatching('sheeesh'))).toBeGreaterThan(0);
    expect(finding('sheeesh')).toBeNull();
    expect(classifier.flags(foldForMatching('HYPERS'))).toBe(false);
    expect(finding('')).toBeNull();
  });
});
