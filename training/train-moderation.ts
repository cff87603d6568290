/**
 * train:moderation — trains the two local hate classifiers on the train split of the labelled data
 * (eval/hate-corpus.ts) and sets their thresholds on the validation split, writing the files that
 * are committed: the n-gram model (core/moderation/classifier/hate-model.bin), then the head over
 * the sentence encoder's embeddings (encoder-head.bin; the encoder itself is exported once by
 * training/finetune-encoder.sh). Deterministic: the committed settings and seed give the committed
 * files byte for byte. The encoder's fine-tune takes CPU-minutes in Python, so --check does not
 * rerun it: it checks the committed encoder files against the sha256s the recipe recorded.
 * Embedding the rows takes about 10 minutes on one core the first time; the embeddings are cached
 * under ~/.cache/livepulse/encoder-embeddings, so later runs take seconds.
 *
 *   npm run train:moderation                 # retrain and write both files
 *   npm run train:moderation -- --check      # retrain and fail if a committed file differs
 *   options: --data DIR (default ../shared/data), --seed N, --only ngram|encoder
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENCODER_HEAD_FILE } from '../core/moderation/classifier/encoder-classifier.ts';
import { HATE_MODEL_FILE } from '../core/moderation/classifier/hate-classifier.ts';
import { SentenceEncoder, verifiedEncoderFiles } from '../core/moderation/classifier/sentence-encoder.ts';
import { loadHateCorpus } from '../eval/hate-corpus.ts';
import { DEFAULT_HEAD_TRAINING, trainEncoderHead } from './encoder-head-training.ts';
import { trainHateModel, DEFAULT_TRAINING } from './hate-model-training.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Writes the file, or with --check compares it; false when a committed file is stale. */
async function writeOrCheck(
  file: string,
  bytes: Buffer,
  check: boolean,
  seed: number,
  seconds: string,
): Promise<boolean> {
  if (check) {
    const committed = await readFile(file);
    if (!committed.equals(bytes)) {
      process.stderr.write(`${file} is not what train:moderation produces for seed ${seed}: retrain and commit it\n`);
      return false;
    }
    process.stdout.write(`${file} matches a fresh training run (${bytes.length} bytes, ${seconds} s)\n`);
    return true;
  }
  await writeFile(file, bytes);
  process.stdout.write(`wrote ${file} (${bytes.length} bytes) in ${seconds} s\n`);
  return true;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: resolve(repoRoot, process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data') },
      seed: { type: 'string', default: String(DEFAULT_TRAINING.seed) },
      check: { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
  if (values.only !== undefined && values.only !== 'ngram' && values.only !== 'encoder')
    throw new Error(`--only must be ngram or encoder, got ${JSON.stringify(values.only)}`);
  const corpus = await loadHateCorpus(values.data);
  const seconds = (since: number) => ((performance.now() - since) / 1_000).toFixed(1);
  let ok = true;

  if (values.only !== 'encoder') {
    const started = performance.now();
    const { bytes, header } = await trainHateModel(values.data, { ...DEFAULT_TRAINING, seed }, corpus);
    process.stdout.write(`${JSON.stringify(header.about, null, 2)}\n`);
    ok = (await writeOrCheck(HATE_MODEL_FILE, bytes, values.check, seed, seconds(started))) && ok;
  }
  if (values.only !== 'ngram' && values.check) {
    const { manifest, read } = verifiedEncoderFiles();
    for (const name of Object.keys(manifest.sha256)) read(name);
    const recipe = manifest.fineTuned?.recipe ?? 'training/export-encoder.sh';
    process.stdout.write(
      `encoder files match the sha256s ${recipe} recorded in manifest.json (not rerun by --check)\n`,
    );
  }
  if (values.only !== 'ngram') {
    const started = performance.now();
    const encoder = await SentenceEncoder.load();
    let reported = 0;
    const progress = (done: number, total: number) => {
      if (done - reported < 5_000 && done < total) return;
      reported = done;
      process.stderr.write(`embedding rows not in the cache: ${done}/${total}\n`);
    };
    const { bytes, head } = await trainEncoderHead(
      values.data,
      encoder,
      { ...DEFAULT_HEAD_TRAINING, seed },
      { corpus, progress },
    );
    await encoder.close();
    process.stdout.write(`${JSON.stringify(head.header.about, null, 2)}\n`);
    ok = (await writeOrCheck(ENCODER_HEAD_FILE, bytes, values.check, seed, seconds(started))) && ok;
  }
  if (!ok) process.exitCode = 1;
}

await main();
