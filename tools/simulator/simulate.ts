import { writeFile } from 'node:fs/promises';
import { CommandUsageError } from '../../core/command-usage-error.ts';
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

/** `livepulse simulate`'s options as the command line gives them (app/cli/program.ts). */
export interface SimulateCommandOptions {
  viewers: string;
  duration: string;
  collector: string;
  key: string;
  out: string;
  seed?: string;
  streams?: string;
  flushInterval: string;
  chaos?: boolean;
}

export class SimulateUsageError extends CommandUsageError {
  constructor(problem: string) {
    super(problem);
    this.name = 'SimulateUsageError';
  }
}

/** Runs `livepulse simulate`; resolves to the process exit code. */
export async function runSimulateCommand(values: SimulateCommandOptions, settings: AnalyticsSettings): Promise<number> {
  const number = (name: string, value: string | undefined, fallback?: number): number => {
    if (value === undefined && fallback !== undefined) return fallback;
    const parsed = Number(value);
    if (value === undefined || !Number.isInteger(parsed) || parsed <= 0)
      throw new SimulateUsageError(`--${name} must be a positive integer`);
    return parsed;
  };
  const run = await simulate({
    viewers: number('viewers', values.viewers),
    durationMs: number('duration', values.duration) * 1000,
    seed: number('seed', values.seed, Date.now() % 1_000_000),
    streams: values.streams === undefined ? undefined : number('streams', values.streams),
    collectorUrl: values.collector,
    writeKey: values.key,
    flushIntervalMs: number('flush-interval', values.flushInterval),
    chaos: values.chaos
      ? {
          shuffle: true,
          duplicateShare: 0.05,
          holdBackShare: 0.1,
          maxHoldBackMs: Math.min(5_000, settings.allowedLatenessMs / 3),
        }
      : undefined,
    settings,
    truthFile: values.out,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ truth: values.out, views: run.truth.views, events: run.truth.events, ...run.report }, null, 2)}\n`,
  );
  process.stderr.write(
    `every view ends by ${new Date(run.truth.last_view_end).toISOString()}; results are final ${settings.allowedLatenessMs / 1000} s after that\n`,
  );
  return run.report.rejected.length === 0 ? 0 : 1;
}
