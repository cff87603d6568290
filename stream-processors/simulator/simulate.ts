import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AnalyticsSettings } from '../../core/config.ts';
import { computeGroundTruth, type GroundTruth } from './ground-truth.ts';
import { playSimulation, type PlayOptions, type PlayReport } from './traffic-player.ts';
import { planSimulation, type SimulationOptions, type SimulationPlan } from './viewer-scripts.ts';

/**
 * The traffic simulator: plans scripted viewers, writes what every metric must be, and plays
 * them against a collector in real time. `livepulse simulate` runs it from the shell; tests and
 * benchmarks of other features call `simulate()`.
 */
export interface SimulateOptions extends SimulationOptions, Omit<PlayOptions, 'log'> {
  /** The processor's settings: the ground truth applies the same windows and timeouts. */
  settings: AnalyticsSettings;
  /** Where to write the ground truth (JSON), before playing starts. */
  truthFile?: string;
  log?: (line: string) => void;
}

export interface SimulationRun {
  plan: SimulationPlan;
  truth: GroundTruth;
  report: PlayReport;
}

export async function simulate(options: SimulateOptions): Promise<SimulationRun> {
  const plan = planSimulation(options);
  const truth = computeGroundTruth(plan, options.settings);
  if (options.truthFile) await writeFile(options.truthFile, `${JSON.stringify(truth, null, 2)}\n`);
  options.log?.(
    `simulating ${options.viewers} viewers (${truth.views} views, ${truth.events} events, ${Object.keys(truth.streams).length} streams) ` +
      `from ${new Date(plan.startAt).toISOString()} for ${Math.round(options.durationMs / 1000)} s against ${options.collectorUrl}`,
  );
  const report = await playSimulation(plan, options);
  return { plan, truth, report };
}

export const SIMULATE_USAGE = `livepulse simulate --viewers N --duration SECONDS --collector URL --key WRITE_KEY --out truth.json
    [--seed N] [--streams N] [--flush-interval MS] [--chaos]
  Plays N scripted viewers (joins, startup delays, rebuffers, pauses, quality switches, fatal
  errors, leaves) against the collector in real time and writes the ground truth of every metric
  (computed with this configuration's ANALYTICS_* windows and timeouts) to --out.`;

export class SimulateUsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n\n${SIMULATE_USAGE}`);
    this.name = 'SimulateUsageError';
  }
}

/** Parses `livepulse simulate` arguments and runs it; resolves to the process exit code. */
export async function runSimulateCommand(argv: string[], settings: AnalyticsSettings): Promise<number> {
  try {
    return await runSimulate(argv, settings);
  } catch (error) {
    if (!(error instanceof SimulateUsageError)) throw error;
    process.stderr.write(`livepulse simulate: ${error.message}\n`);
    return 2;
  }
}

async function runSimulate(argv: string[], settings: AnalyticsSettings): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      viewers: { type: 'string' },
      duration: { type: 'string' },
      collector: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      streams: { type: 'string' },
      'flush-interval': { type: 'string' },
      chaos: { type: 'boolean' },
    },
  });
  const number = (name: string, value: string | undefined, fallback?: number): number => {
    if (value === undefined && fallback !== undefined) return fallback;
    const parsed = Number(value);
    if (value === undefined || !Number.isInteger(parsed) || parsed <= 0) throw new SimulateUsageError(`--${name} must be a positive integer`);
    return parsed;
  };
  if (!values.collector || !values.key || !values.out) throw new SimulateUsageError('--collector, --key and --out are required');
  const run = await simulate({
    viewers: number('viewers', values.viewers),
    durationMs: number('duration', values.duration) * 1000,
    seed: number('seed', values.seed, Date.now() % 1_000_000),
    streams: values.streams === undefined ? undefined : number('streams', values.streams),
    collectorUrl: values.collector,
    writeKey: values.key,
    flushIntervalMs: number('flush-interval', values['flush-interval'], 10_000),
    chaos: values.chaos ? { shuffle: true, duplicateShare: 0.05, holdBackShare: 0.1, maxHoldBackMs: Math.min(5_000, settings.allowedLatenessMs / 3) } : undefined,
    settings,
    truthFile: values.out,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify({ truth: values.out, views: run.truth.views, events: run.truth.events, ...run.report }, null, 2)}\n`);
  process.stderr.write(`every view ends by ${new Date(run.truth.last_view_end).toISOString()}; results are final ${settings.allowedLatenessMs / 1000} s after that\n`);
  return run.report.rejected.length === 0 ? 0 : 1;
}
