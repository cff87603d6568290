import { describe, expect, it } from 'vitest';
import { insertResultRow, percentile } from './harness.ts';

describe('insertResultRow', () => {
  const header =
    '| date | benchmark | command | measured | baseline | ratio | machine |\n| --- | --- | --- | --- | --- | --- | --- |';

  it('creates the Results table in an empty file', () => {
    expect(insertResultRow('', '| r1 |')).toBe(`# Benchmarks\n\n## Results\n\n${header}\n| r1 |\n`);
  });

  it('appends to the end of the table even when prose follows it', () => {
    const doc = `# Benchmarks\n\n## Results\n\n${header}\n| r1 |\n\n## bench:later\n\nProse.\n`;
    expect(insertResultRow(doc, '| r2 |')).toBe(
      `# Benchmarks\n\n## Results\n\n${header}\n| r1 |\n| r2 |\n\n## bench:later\n\nProse.\n`,
    );
  });
});

describe('percentile', () => {
  it.each([
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
    [[7], 95, 7],
  ])('of %j at p%i is %i', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});
