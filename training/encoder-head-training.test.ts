import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENCODER_HEAD_FILE } from '../core/moderation/classifier/encoder-classifier.ts';
import { decodeEncoderHead, EncoderHead } from '../core/moderation/classifier/encoder-head.ts';
import { seededRandom } from '../core/moderation/classifier/logistic-regression.ts';
import { ENCODER_DIR, type EncoderManifest } from '../core/moderation/classifier/sentence-encoder.ts';
import { DEFAULT_HEAD_TRAINING, trainDenseHead, type DenseExample } from './encoder-head-training.ts';

/** Points in the square, positive in two opposite quadrants: no linear model separates them. */
function quadrants(count: number, seed: number): DenseExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const x = Float32Array.from([2 * random() - 1, 2 * random() - 1]);
    return { x, positive: x[0]! * x[1]! > 0, weight: 1 };
  });
}

const settings = { hidden: 8, epochs: 30, learningRate: 0.1, l2: 0, seed: 7 };
const asHead = (trained: ReturnType<typeof trainDenseHead>) =>
  new EncoderHead(
    { version: 1, dimensions: 2, hidden: settings.hidden, bias: trained.bias, ngramWeight: 0, threshold: 0, about: {} },
    {
      input: Float32Array.from(trained.input),
      hiddenBias: Float32Array.from(trained.hiddenBias),
      output: Float32Array.from(trained.output),
    },
  );

describe('trainDenseHead', () => {
  it('learns what a linear model cannot (opposite quadrants)', () => {
    const head = asHead(trainDenseHead(quadrants(2_000, 1), settings));
    const test = quadrants(500, 2);
    const correct = test.filter((e) => head.logit(e.x) >= 0 === e.positive).length;
    expect(correct / test.length).toBeGreaterThan(0.9);
  });

  it('gives the same weights for the same seed and others for another', () => {
    const examples = quadrants(300, 3);
    const a = trainDenseHead(examples, { ...settings, epochs: 2 });
    const b = trainDenseHead(examples, { ...settings, epochs: 2 });
    const c = trainDenseHead(examples, { ...settings, epochs: 2, seed: 8 });
    expect([...a.input]).toEqual([...b.input]);
    expect(a.bias).toBe(b.bias);
    expect([...a.input]).not.toEqual([...c.input]);
  });

  it('refuses to train on nothing', () => {
    expect(() => trainDenseHead([], settings)).toThrow(RangeError);
  });
});

describe('the committed encoder head', () => {
  const { header } = decodeEncoderHead(readFileSync(ENCODER_HEAD_FILE));
  const manifest = JSON.parse(readFileSync(join(ENCODER_DIR, 'manifest.json'), 'utf8')) as EncoderManifest;

  it('was trained on the committed encoder with the committed settings', () => {
    expect(header.about.encoderSha256).toBe(manifest.sha256['encoder-int8.onnx']);
    const { limit: _limit, ...recorded } = DEFAULT_HEAD_TRAINING;
    expect(header.about.training).toEqual(recorded);
    expect(header).toMatchObject({ dimensions: manifest.dimensions, hidden: DEFAULT_HEAD_TRAINING.hidden });
    expect(DEFAULT_HEAD_TRAINING.ngramWeights).toContain(header.ngramWeight);
  });

  it('sets the threshold so the rules and the stacked score together keep to the validation budget', () => {
    const { all } = header.about.validationWithRules as { all: { fpr: number } };
    expect(all.fpr).toBeLessThanOrEqual(DEFAULT_HEAD_TRAINING.validationMaxFpr);
    expect(all.fpr).toBeGreaterThan(DEFAULT_HEAD_TRAINING.validationMaxFpr - 0.005);
  });
});
