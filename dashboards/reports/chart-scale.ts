/**
 * Axis arithmetic for the report's charts, kept apart from drawing so it can be table-tested:
 * round tick steps (1, 2, 2.5, 5 × 10ⁿ) that cover the data, and which of many bars get a label.
 */

export interface AxisScale {
  max: number;
  step: number;
  ticks: number[];
}

/** An axis from 0 to a round number ≥ `dataMax`, with about `targetTicks` steps. */
export function niceScale(dataMax: number, targetTicks = 4): AxisScale {
  if (!Number.isFinite(dataMax) || dataMax <= 0) return { max: 1, step: 0.25, ticks: [0, 0.25, 0.5, 0.75, 1] };
  const rough = dataMax / targetTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough)!;
  const max = Math.ceil(dataMax / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + step / 1e6; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { max, step, ticks };
}

/** Indexes of the bars whose labels fit: every k-th, so that at most `maxLabels` are drawn. */
export function labelledIndexes(count: number, maxLabels: number): number[] {
  if (count <= 0 || maxLabels <= 0) return [];
  const every = Math.ceil(count / maxLabels);
  const indexes: number[] = [];
  for (let i = 0; i < count; i += every) indexes.push(i);
  return indexes;
}

/** The `limit` largest items by `weight`, back in their original order (charts stay chronological). */
export function largestInOrder<T>(items: readonly T[], limit: number, weight: (item: T) => number): T[] {
  if (items.length <= limit) return [...items];
  const keep = new Set(
    items
      .map((item, index) => ({ index, w: weight(item) }))
      .sort((a, b) => b.w - a.w || a.index - b.index)
      .slice(0, limit)
      .map((e) => e.index),
  );
  return items.filter((_, index) => keep.has(index));
}
