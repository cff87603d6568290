/**
 * The figures both sides of bench:processors compute per stream and 10 s window, and the
 * `--check` comparison of Kafka Streams' with the processor's (see processors.bench.ts for why
 * viewers may differ while watch time should not).
 */
export interface WindowFigures {
  stream_id: string;
  window_start: number;
  viewers: number;
  watch_ms: number;
}

export interface WindowComparison {
  windows: number;
  /** Windows only one side has a row for (a side leaves out a window where nothing happened). */
  onlyProcessor: number;
  onlyKafkaStreams: number;
  watchMsEqual: number;
  viewersEqual: number;
  processorTotals: { viewers: number; watch_ms: number };
  kafkaStreamsTotals: { viewers: number; watch_ms: number };
  /** Each a reason the check fails; empty when the figures agree within the tolerances. */
  problems: string[];
}

export interface Tolerances {
  /** Largest |Kafka Streams − processor| ÷ processor for the total watch time. */
  watchMsTotal: number;
  /** Largest (processor − Kafka Streams) ÷ processor for total viewers; Kafka Streams counts a subset. */
  viewersTotalBelow: number;
}

const key = (f: Pick<WindowFigures, 'stream_id' | 'window_start'>) => `${f.stream_id}|${f.window_start}`;
const isEmpty = (f: WindowFigures) => f.viewers === 0 && f.watch_ms === 0;

export function compareWindowFigures(
  processor: WindowFigures[],
  kafkaStreams: WindowFigures[],
  tolerances: Tolerances,
): WindowComparison {
  if (processor.length === 0) throw new Error('the processor wrote no window rows to compare with');
  const theirs = new Map(kafkaStreams.filter((f) => !isEmpty(f)).map((f) => [key(f), f]));
  const ours = new Map(processor.filter((f) => !isEmpty(f)).map((f) => [key(f), f]));
  const result: WindowComparison = {
    windows: new Set([...ours.keys(), ...theirs.keys()]).size,
    onlyProcessor: 0,
    onlyKafkaStreams: 0,
    watchMsEqual: 0,
    viewersEqual: 0,
    processorTotals: { viewers: 0, watch_ms: 0 },
    kafkaStreamsTotals: { viewers: 0, watch_ms: 0 },
    problems: [],
  };
  for (const [k, p] of ours) {
    const t = theirs.get(k);
    if (!t) result.onlyProcessor += 1;
    if (t?.watch_ms === p.watch_ms) result.watchMsEqual += 1;
    if (t?.viewers === p.viewers) result.viewersEqual += 1;
    result.processorTotals.viewers += p.viewers;
    result.processorTotals.watch_ms += p.watch_ms;
  }
  for (const [k, t] of theirs) {
    if (!ours.has(k)) result.onlyKafkaStreams += 1;
    result.kafkaStreamsTotals.viewers += t.viewers;
    result.kafkaStreamsTotals.watch_ms += t.watch_ms;
  }
  const watchOff =
    Math.abs(result.kafkaStreamsTotals.watch_ms - result.processorTotals.watch_ms) / result.processorTotals.watch_ms;
  if (!(watchOff <= tolerances.watchMsTotal)) {
    result.problems.push(
      `total watch_ms ${result.kafkaStreamsTotals.watch_ms} (Kafka Streams) vs ${result.processorTotals.watch_ms} (processor): off by ${(watchOff * 100).toFixed(2)}%, more than ${tolerances.watchMsTotal * 100}%`,
    );
  }
  const viewersBelow =
    (result.processorTotals.viewers - result.kafkaStreamsTotals.viewers) / result.processorTotals.viewers;
  if (!(viewersBelow >= 0 && viewersBelow <= tolerances.viewersTotalBelow)) {
    result.problems.push(
      `total viewers ${result.kafkaStreamsTotals.viewers} (Kafka Streams) vs ${result.processorTotals.viewers} (processor): expected Kafka Streams at most ${tolerances.viewersTotalBelow * 100}% below and never above`,
    );
  }
  return result;
}
