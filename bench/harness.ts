import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * Every benchmark ends the same way: one JSON line of results printed last, and a dated row
 * appended to docs/benchmarks.md with the command that produced it. A benchmark measures its
 * own baseline in the same run, so the ratio survives a slower or busier machine.
 */
export interface BenchmarkResult {
  name: string;
  command: string;
  /** The figures of the thing measured. */
  measured: Record<string, number | string>;
  /** The same-run baseline's figures, where there is one. */
  baseline?: Record<string, number | string>;
  /** measured ÷ baseline for the headline figures. */
  ratio?: Record<string, number>;
  notes?: string;
}

const BENCHMARKS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const TABLE_HEADER =
  '| date | benchmark | command | measured | baseline | ratio | machine |\n| --- | --- | --- | --- | --- | --- | --- |\n';

function formatFigures(figures: Record<string, number | string> | undefined): string {
  if (!figures) return '—';
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? round(v) : v}`)
    .join(', ');
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const magnitude = Math.abs(value) >= 100 ? 0 : digits;
  return Number(value.toFixed(magnitude));
}

export function percentile(sortedAscending: number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  const index = Math.min(sortedAscending.length - 1, Math.ceil((p / 100) * sortedAscending.length) - 1);
  return sortedAscending[Math.max(0, index)]!;
}

/** Inserts `row` at the end of the Results table, creating the table if the file has none. */
export function insertResultRow(markdown: string, row: string): string {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| date | benchmark |'));
  if (header === -1) {
    const base = markdown.trimEnd() || '# Benchmarks';
    return `${base}\n\n## Results\n\n${TABLE_HEADER}${row}\n`;
  }
  let end = header + 1;
  while (end + 1 < lines.length && lines[end + 1]!.startsWith('|')) end++;
  lines.splice(end + 1, 0, row);
  return lines.join('\n');
}

export async function recordBenchmark(result: BenchmarkResult): Promise<void> {
  const machine = `${cpus().length} cores, node ${process.version}`;
  const row = `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} | ${result.name} | \`${result.command}\` | ${formatFigures(result.measured)} | ${formatFigures(result.baseline)} | ${formatFigures(result.ratio)} | ${machine} |`;
  let existing = '';
  try {
    existing = await readFile(BENCHMARKS_FILE, 'utf8');
  } catch {
    existing = '';
  }
  await writeFile(BENCHMARKS_FILE, insertResultRow(existing, row));
  const line = { ...result, machine, at: new Date().toISOString() };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
