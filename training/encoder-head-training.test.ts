import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENCODER_HEAD_FILE } from '../core/moderation/classifier/encoder-classifier.ts';
import { decodeEncoderHead, EncoderHead } from '../core/moderation/classifier/encoder-head.ts';
import { seededRandom } from '../core/moderation/classifier/logistic-regression.ts';
import { ENCODER_DIR, type EncoderManifest } from '../core/moderation/classifier/sentence-encoder.ts';
import type { CorpusRow } from '../eval/hate-corpus.ts';
import {
  DEFAULT_HEAD_TRAINING,
  headWeights,
  pickByWeakestDataset,
  recallByDataset,
  trainDenseHead,
  type DenseExample,
} from './encoder-head-training.ts';
import { balancedWeights } from './hate-model-training.ts';

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

const row = (dataset: string, hateful: boolean): CorpusRow => ({
  text: `${dataset} ${hateful}`,
  hateful,
  dataset,
  category: dataset,
  split: 'validation',
});

describe('recallByDataset', () => {
  it('gives each set with hateful rows its recall, and leaves out the sets with none', () => {
    const rows = [row('edos', true), row('edos', true), row('edos', false), row('jigsaw', true), row('youtube', false)];
    expect(recallByDataset(rows, [true, false, true, true, true])).toEqual({ edos: 0.5, jigsaw: 1 });
  });
});

describe('pickByWeakestDataset', () => {
  const candidate = (name: string, recall: number, byDataset: Record<string, number>) => ({ name, recall, byDataset });
  it.each([
    {
      why: 'the highest minimum wins over the most recall overall',
      candidates: [
        candidate('a', 0.72, { edos: 0.5, davidson: 0.7 }),
        candidate('b', 0.7, { edos: 0.55, davidson: 0.6 }),
      ],
      picked: 'b',
    },
    {
      why: 'the weakest set is whichever is lowest in each candidate',
      candidates: [
        candidate('a', 0.7, { edos: 0.58, davidson: 0.9 }),
        candidate('b', 0.7, { edos: 0.7, davidson: 0.57 }),
      ],
      picked: 'a',
    },
    {
      why: 'an equal minimum goes to the most recall overall',
      candidates: [
        candidate('a', 0.7, { edos: 0.55, davidson: 0.6 }),
        candidate('b', 0.71, { edos: 0.6, davidson: 0.55 }),
      ],
      picked: 'b',
    },
    {
      why: 'a full tie goes to the earlier candidate',
      candidates: [candidate('a', 0.7, { edos: 0.55 }), candidate('b', 0.7, { edos: 0.55 })],
      picked: 'a',
    },
    {
      why: 'one candidate is picked',
      candidates: [candidate('a', 0.1, { edos: 0 })],
      picked: 'a',
    },
  ])('$why', ({ candidates, picked }) => {
    expect(pickByWeakestDataset(candidates).name).toBe(picked);
  });

  it('refuses to pick from nothing', () => {
    expect(() => pickByWeakestDataset([])).toThrow(RangeError);
  });
});

describe('headWeights', () => {
  it("multiplies a dataset's balanced weights by its factor and leaves the other sets alone", () => {
    const rows = [
      row('edos', true),
      row('edos', false),
      row('edos', false),
      row('davidson', true),
      row('davidson', false),
    ];
    const balanced = balancedWeights(rows);
    expect(headWeights(rows, {})).toEqual(balanced);
    expect(headWeights(rows, { edos: 2 })).toEqual([
      2 * balanced[0]!,
      2 * balanced[1]!,
      2 * balanced[2]!,
      balanced[3],
      balanced[4],
    ]);
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

  it('stacks the n-gram logit at the weight whose weakest validation set was caught best', () => {
    const byWeight = header.about.validationRecallByNgramWeight as Record<string, Record<string, number>>;
    const candidates = DEFAULT_HEAD_TRAINING.ngramWeights.map((weight) => {
      const { all, ...byDataset } = byWeight[String(weight)]!;
      return { weight, recall: all!, byDataset };
    });
    expect(pickByWeakestDataset(candidates).weight).toBe(header.ngramWeight);
  });

  it('sets the threshold so the rules and the stacked score together keep to the validation budget', () => {
    const { all } = header.about.validationWithRules as { all: { fpr: number } };
    expect(all.fpr).toBeLessThanOrEqual(DEFAULT_HEAD_TRAINING.validationMaxFpr);
    expect(all.fpr).toBeGreaterThan(DEFAULT_HEAD_TRAINING.validationMaxFpr - 0.005);
  });
});
