/** Latencies in 0.1 ms buckets up to 10 s (and one overflow bucket), mergeable across processes. */
export const BUCKET_MS = 0.1;
export const BUCKETS = 100_000;

export function newHistogram(): number[] {
  return new Array<number>(BUCKETS + 1).fill(0);
}

export function record(histogram: number[], ms: number): void {
  const bucket = Math.min(BUCKETS, Math.max(0, Math.floor(ms / BUCKET_MS)));
  histogram[bucket]! += 1;
}

export function merge(into: number[], from: number[]): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i] ?? 0;
}

/** The latency (upper edge of the bucket) below which `p` percent of the samples fall. */
export function histogramPercentile(histogram: number[], p: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return (i + 1) * BUCKET_MS;
  }
  return Infinity;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Numbers written with 13 consonants, so a bench message ("<seq> <send time>") can never look like
 * a word, a number in leetspeak or a link to the heuristics, and is always delivered.
 */
const DIGITS = 'bdhjmnpqrvwxz';
export function encodeNumber(value: number): string {
  let rest = Math.floor(value);
  let out = '';
  do {
    out = DIGITS[rest % DIGITS.length]! + out;
    rest = Math.floor(rest / DIGITS.length);
  } while (rest > 0);
  return out;
}
export function decodeNumber(text: string): number {
  let value = 0;
  for (const ch of text) value = value * DIGITS.length + DIGITS.indexOf(ch);
  return value;
}
