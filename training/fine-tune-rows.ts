import type { CorpusRow } from '../eval/hate-corpus.ts';
import { balancedWeights } from './hate-model-training.ts';

/** One row the encoder fine-tune (training/finetune-encoder.py) reads, as a JSON line. */
export interface FineTuneRow {
  text: string;
  hateful: boolean;
  dataset: string;
  split: 'train' | 'validation';
  /** The balanced class weight (balancedWeights) within the row's split. */
  weight: number;
}

/**
 * The train and validation rows of the corpus with their class weights, for the Python fine-tune:
 * computed here so the split and the weights are the ones the rest of training uses. Test rows are
 * left out, so the fine-tune cannot see them.
 */
export function fineTuneRows(corpus: readonly CorpusRow[]): FineTuneRow[] {
  const train = corpus.filter((row) => row.split === 'train');
  const validation = corpus.filter((row) => row.split === 'validation');
  const rows = (split: FineTuneRow['split'], picked: CorpusRow[]) => {
    const weights = balancedWeights(picked);
    return picked.map((row, i) => ({
      text: row.text,
      hateful: row.hateful,
      dataset: row.dataset,
      split,
      weight: weights[i]!,
    }));
  };
  return [...rows('train', train), ...rows('validation', validation)];
}
