/**
 * train:moderation — trains the hate classifier on the train split of the labelled data
 * (eval/hate-corpus.ts), sets its threshold on the validation split, and writes the model file
 * that is committed (core/moderation/classifier/hate-model.bin). Deterministic: the committed
 * settings and seed give the committed file byte for byte (the test beside it checks that).
 *
 *   npm run train:moderation                 # retrain and write the model file
 *   npm run train:moderation -- --check      # retrain and fail if the committed file differs
 *   options: --data DIR (default ../shared/data), --out FILE, --seed N
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HATE_MODEL_FILE } from '../core/moderation/classifier/hate-classifier.ts';
import { trainHateModel, DEFAULT_TRAINING } from './hate-model-training.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: resolve(repoRoot, process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data') },
      out: { type: 'string', default: HATE_MODEL_FILE },
      seed: { type: 'string', default: String(DEFAULT_TRAINING.seed) },
      check: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
  const started = performance.now();
  const { bytes, header } = await trainHateModel(values.data!, { ...DEFAULT_TRAINING, seed });
  const seconds = ((performance.now() - started) / 1_000).toFixed(1);
  process.stdout.write(`${JSON.stringify(header.about, null, 2)}\n`);
  if (values.check) {
    const committed = await readFile(values.out!);
    if (!committed.equals(bytes)) {
      process.stderr.write(`${values.out} is not what train:moderation produces for seed ${seed}: retrain and commit it\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${values.out} matches a fresh training run (${bytes.length} bytes, ${seconds} s)\n`);
    return;
  }
  await writeFile(values.out!, bytes);
  process.stdout.write(`wrote ${values.out} (${bytes.length} bytes) in ${seconds} s\n`);
}

await main();
