import { describe, expect, it } from 'vitest';
import type { CorpusRow } from '../eval/hate-corpus.ts';
import { fineTuneRows } from './fine-tune-rows.ts';
import { balancedWeights } from './hate-model-training.ts';

const row = (text: string, hateful: boolean, dataset: string, split: CorpusRow['split']): CorpusRow => ({
  text,
  hateful,
  dataset,
  category: 'c',
  split,
});

const corpus: CorpusRow[] = [
  row('a', true, 'edos', 'train'),
  row('b', false, 'edos', 'train'),
  row('c', false, 'edos', 'train'),
  row('d', false, 'youtube', 'train'),
  row('e', true, 'edos', 'test'),
  row('f', false, 'edos', 'validation'),
  row('g', true, 'edos', 'validation'),
  row('h', false, 'jigsaw', 'test'),
];

describe('fineTuneRows', () => {
  const rows = fineTuneRows(corpus);

  it('never hands the fine-tune a test row', () => {
    expect(rows.map((r) => r.text)).toEqual(['a', 'b', 'c', 'd', 'f', 'g']);
    expect(rows.every((r) => r.split !== ('test' as string))).toBe(true);
  });

  it('keeps each row its label, set and split', () => {
    expect(rows.map((r) => [r.hateful, r.dataset, r.split])).toEqual([
      [true, 'edos', 'train'],
      [false, 'edos', 'train'],
      [false, 'edos', 'train'],
      [false, 'youtube', 'train'],
      [false, 'edos', 'validation'],
      [true, 'edos', 'validation'],
    ]);
  });

  it('weighs each split as the rest of training does, apart from the other', () => {
    const train = corpus.filter((r) => r.split === 'train');
    const validation = corpus.filter((r) => r.split === 'validation');
    expect(rows.map((r) => r.weight)).toEqual([...balancedWeights(train), ...balancedWeights(validation)]);
  });
});
