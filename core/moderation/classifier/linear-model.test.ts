import { describe, expect, it } from 'vitest';
import { HashedFeatures } from './hashed-features.ts';
import { decodeModel, encodeModel, LinearTextModel, ModelFormatError, type ModelHeader } from './linear-model.ts';
import {
  quantise,
  thresholdForFalsePositiveRate,
  thresholdForFlagBudget,
  trainLogisticRegression,
} from './logistic-regression.ts';

const header = (bits = 8): ModelHeader => ({
  version: 1,
  bits,
  weightScale: 0.5,
  bias: -1,
  threshold: 0,
  about: { note: 'test' },
});

describe('HashedFeatures', () => {
  const features = new HashedFeatures(12);
  const of = (text: string) => {
    const { indices, count } = features.extract(text);
    return [...indices.slice(0, count)];
  };

  it.each([
    ['', 0],
    ['a', 1 + 1],
    ['ab', 1 + 2 + 1],
    ['abc de', 2 + 1 + 6 + 5 + 4 + 3],
  ])('%j has %i features (words, bigrams, char 3- to 6-grams over the padded text)', (text, expected) => {
    expect(of(text)).toHaveLength(expected);
  });

  it('is a pure function of the text, within 2^bits, and shares features between related texts', () => {
    expect(of('people like her')).toEqual(of('people like her'));
    expect(Math.max(...of('people like her'))).toBeLessThan(2 ** 12);
    const shared = of('idiots').filter((f) => of('idiot').includes(f));
    expect(shared.length).toBeGreaterThan(3);
  });

  it('refuses a bucket count it cannot address', () => {
    expect(() => new HashedFeatures(30)).toThrow(RangeError);
  });
});

describe('model file', () => {
  it('round-trips header and weights', () => {
    const weights = Int8Array.from({ length: 256 }, (_, i) => (i % 255) - 127);
    const decoded = decodeModel(encodeModel(header(), weights));
    expect(decoded.header).toEqual(header());
    expect([...decoded.weights]).toEqual([...weights]);
  });

  it.each([
    ['no magic', Buffer.from('nope')],
    ['a truncated body', encodeModel(header(), new Int8Array(256)).subarray(0, 100)],
    ['another version', encodeModel({ ...header(), version: 9 }, new Int8Array(256))],
  ])('refuses %s with a specific error', (_name, bytes) => {
    expect(() => decodeModel(bytes)).toThrow(ModelFormatError);
  });

  it('scores bias + Σ weights × scale / √count', () => {
    const weights = new Int8Array(256).fill(2);
    const model = new LinearTextModel(header(), weights);
    const { count } = new HashedFeatures(8).extract('ab');
    expect(model.logit('ab')).toBeCloseTo(-1 + (count * 2 * 0.5) / Math.sqrt(count));
  });
});

describe('training', () => {
  const features = new HashedFeatures(10);
  const example = (text: string, positive: boolean) => {
    const { indices, count } = features.extract(text);
    return { features: indices.slice(0, count), positive, weight: 1 };
  };
  const examples = [
    ...['they are vermin', 'wipe them out', 'those people are animals'].map((t) => example(t, true)),
    ...['great stream today', 'nice play', 'hello from spain'].map((t) => example(t, false)),
  ];

  it('separates the training examples and is deterministic for a seed', () => {
    const settings = { bits: 10, epochs: 30, learningRate: 0.5, l2: 0, seed: 7 };
    const a = trainLogisticRegression(examples, settings);
    const b = trainLogisticRegression(examples, settings);
    expect([...a.weights]).toEqual([...b.weights]);
    const q = quantise(a.weights);
    const model = new LinearTextModel({ ...header(10), weightScale: q.scale, bias: a.bias }, q.weights);
    expect(model.logit('they are vermin')).toBeGreaterThan(0);
    expect(model.logit('nice play')).toBeLessThan(0);
  });

  it.each([
    [[3, 2, 1, 0], 0.25, 2],
    [[3, 2, 1, 0], 0.5, 1],
    [[3, 2, 1, 0], 0, 3],
  ])('thresholdForFalsePositiveRate(%j, %f) flags only what lies above %f', (scores, maxFpr, boundary) => {
    const threshold = thresholdForFalsePositiveRate(scores, maxFpr);
    expect(threshold).toBeGreaterThan(boundary);
    expect(scores.filter((s) => s >= threshold).length / scores.length).toBeLessThanOrEqual(maxFpr);
  });

  it.each([
    [[3, 2, 1, 0], 2, 2],
    [[3, 2, 1, 0], 0, 0],
    [[3, 2, 1, 0], -3, 0],
    [[3, 2, 1, 0], 4, 4],
  ])('thresholdForFlagBudget(%j, %i) flags %i of them', (scores, budget, flagged) => {
    expect(scores.filter((s) => s >= thresholdForFlagBudget(scores, budget)).length).toBe(flagged);
  });
});
