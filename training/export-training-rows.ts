/**
 * Writes the train and validation rows of the labelled data (eval/hate-corpus.ts) as JSON lines for
 * the encoder fine-tune (training/finetune-encoder.sh); see fine-tune-rows.ts. The file is a cache
 * under ~/.cache, never committed.
 *
 *   node --import tsx training/export-training-rows.ts OUT.jsonl [--data DIR]
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadHateCorpus } from '../eval/hate-corpus.ts';
import { fineTuneRows } from './fine-tune-rows.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: resolve(repoRoot, process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data') },
  },
});
if (positionals.length !== 1) throw new Error('usage: export-training-rows.ts OUT.jsonl [--data DIR]');

const rows = fineTuneRows(await loadHateCorpus(values.data));
const body = `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
await writeFile(positionals[0]!, body);
const count = (split: string) => rows.filter((row) => row.split === split).length;
process.stdout.write(
  `wrote ${count('train')} train and ${count('validation')} validation rows, sha256 ${createHash('sha256').update(body).digest('hex')}\n`,
);
