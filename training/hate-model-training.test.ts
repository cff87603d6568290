import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HATE_MODEL_FILE } from '../core/moderation/classifier/hate-classifier.ts';
import { decodeModel } from '../core/moderation/classifier/linear-model.ts';
import { loadHateCorpus, type CorpusRow } from '../eval/hate-corpus.ts';
import { DEFAULT_TRAINING, trainHateModel } from './hate-model-training.ts';

// A full training run takes 5–15 s alone and several times that on a loaded machine.
const TRAINING_TIMEOUT_MS = 240_000;
const dataDir = resolve(
  fileURLToPath(new URL('../', import.meta.url)),
  process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data',
);

describe('train:moderation', () => {
  let corpus: CorpusRow[];
  beforeAll(async () => {
    corpus = await loadHateCorpus(dataDir);
  }, TRAINING_TIMEOUT_MS);

  it(
    'produces exactly the committed model file for the committed settings and seed',
    async () => {
      const { bytes } = await trainHateModel(dataDir, DEFAULT_TRAINING, corpus);
      const committed = await readFile(HATE_MODEL_FILE);
      expect(bytes.length).toBe(committed.length);
      expect(bytes.equals(committed), 'hate-model.bin is stale: run npm run train:moderation and commit it').toBe(true);
    },
    TRAINING_TIMEOUT_MS,
  );

  it('sets the threshold so the rules and the classifier together keep to the validation budget', async () => {
    const { header } = decodeModel(await readFile(HATE_MODEL_FILE));
    const withRules = header.about.validationWithRules as { fpr: number; recall: number };
    expect(withRules.fpr).toBeLessThanOrEqual(DEFAULT_TRAINING.validationMaxFpr);
    // The lowest such threshold: the budget is spent, not left over.
    expect(withRules.fpr).toBeGreaterThan(DEFAULT_TRAINING.validationMaxFpr - 0.005);
  });

  it(
    'gives a different model for a different seed, and the same one again for the same seed',
    async () => {
      const quick = { ...DEFAULT_TRAINING, epochs: 1, limit: 2_000 };
      const a = await trainHateModel(dataDir, quick, corpus);
      const b = await trainHateModel(dataDir, quick, corpus);
      const c = await trainHateModel(dataDir, { ...quick, seed: quick.seed + 1 }, corpus);
      expect(a.bytes.equals(b.bytes)).toBe(true);
      expect(a.bytes.equals(c.bytes)).toBe(false);
      expect(decodeModel(a.bytes).header.about).toMatchObject({
        trainRows: 2_000,
        training: { seed: quick.seed, limit: 2_000 },
      });
    },
    TRAINING_TIMEOUT_MS,
  );
});
