import { Worker } from 'node:worker_threads';
import type { Config } from '../../core/config.ts';
import type { ReadinessCheck } from '../../core/http/health-routes.ts';
import { resolveLogFormat, type LogFormat, type Logger } from '../../core/logger.ts';
import { countsOnly, type Metrics, type MetricsSnapshot } from '../../core/metrics.ts';
import { crashVerdict, DEFAULT_CRASH_POLICY, type CrashPolicy } from './worker-threads-plan.ts';

/** What a worker thread starts from (structured-cloned). */
export interface WorkerData {
  index: number;
  config: Config;
  /** The main registry's default labels, so the threads' series add up with the main thread's. */
  metricLabels: Record<string, string>;
  /** Resolved here: a worker's stdout is a pipe to this thread, never a terminal. */
  logFormat: LogFormat;
  groupId?: string;
}

export type ToWorker = { type: 'metrics'; id: number } | { type: 'ping'; id: number } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'metrics'; id: number; snapshot: MetricsSnapshot }
  | { type: 'pong'; id: number; error?: string };

export interface AnalyticsWorkerPoolOptions {
  config: Config;
  threads: number;
  /** The main thread's registry: the workers' metrics are summed into its /metrics. */
  metrics: Metrics;
  logger: Logger;
  /** Called once when workers keep crashing (more than the policy allows). */
  onGiveUp: (error: Error) => void;
  crashPolicy?: CrashPolicy;
  /** The consumer group (the processor's own by default); tests on a shared broker use one of their own. */
  groupId?: string;
  /** Called when a worker has joined the group (the bench times the pool from the first). */
  onWorkerReady?: (index: number) => void;
  /** How long a stopping worker may take for its last checkpoint before it is terminated. */
  stopTimeoutMs?: number;
}

const ENTRY = new URL('./analytics-worker-entry.js', import.meta.url);
const REQUEST_TIMEOUT_MS = 1_500;

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  /** The last error the thread threw, for the crash log. */
  lastError: unknown;
  /** Its last metrics, and the counts (counters, histograms) of its crashed predecessors: /metrics never goes backwards. */
  lastSnapshot: MetricsSnapshot;
  retired: MetricsSnapshot;
  restartTimer: NodeJS.Timeout | null;
  replies: Map<number, (message: FromWorker) => void>;
}

/**
 * N worker threads, each running a ViewerAnalyticsProcessor with ports of its own as one member
 * of the viewer-analytics consumer group, so Kafka spreads player.events' partitions across them
 * as it does across processes. A worker that crashes is logged and restarted after a backoff;
 * meanwhile the group hands its partitions to the others, and the processor's checkpoints make
 * the takeover exact. Workers that keep crashing make the pool give up (`onGiveUp`).
 */
export class AnalyticsWorkerPool {
  private readonly slots: Slot[];
  private readonly crashTimes: number[] = [];
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private nextRequestId = 0;
  private removeMetricsSource: (() => void) | null = null;
  /** Crashed workers started again, for tests and logs. */
  restarts = 0;

  constructor(private readonly options: AnalyticsWorkerPoolOptions) {
    this.slots = Array.from({ length: options.threads }, (_, index) => ({
      index,
      worker: null,
      ready: false,
      lastError: null,
      lastSnapshot: [],
      retired: [],
      restartTimer: null,
      replies: new Map(),
    }));
  }

  /** Starts every worker and resolves once each one's processor has joined the group. */
  async start(): Promise<void> {
    this.removeMetricsSource = this.options.metrics.addThreadSource(() => this.workersMetrics());
    try {
      await Promise.all(this.slots.map((slot) => this.launch(slot, true)));
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.options.logger.info({ threads: this.slots.length }, 'viewer analytics worker threads started');
  }

  readonly readiness: ReadinessCheck = {
    name: 'viewer-analytics:workers',
    check: async () => {
      await Promise.all(
        this.slots.map(async (slot) => {
          if (!slot.worker || !slot.ready)
            throw new Error(`worker ${slot.index} is not running (starting or restarting)`);
          const reply = await this.request(slot, { type: 'ping', id: this.nextRequestId++ });
          if (reply.type === 'pong' && reply.error) throw new Error(`worker ${slot.index}: ${reply.error}`);
        }),
      );
    },
  };

  /** Asks every worker to take its last checkpoint and stop; one that takes too long is terminated. */
  stop(): Promise<void> {
    this.stopped ??= this.stopWorkers();
    return this.stopped;
  }

  private async stopWorkers(): Promise<void> {
    this.stopping = true;
    this.removeMetricsSource?.();
    const timeoutMs = this.options.stopTimeoutMs ?? 60_000;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        if (!worker) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'stop' } satisfies ToWorker);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), timeoutMs);
        });
        if ((await Promise.race([exited, late])) === 'late') {
          this.options.logger.error(
            { worker: slot.index, timeoutMs },
            'viewer analytics worker did not stop in time; terminated (a successor reads again from its last checkpoint)',
          );
          await worker.terminate();
        }
        clearTimeout(timer);
      }),
    );
  }

  /** Test hook: ends a worker at once, as a crash would (no last checkpoint); the pool restarts it. */
  async terminateWorker(index: number): Promise<void> {
    await this.slots[index]?.worker?.terminate();
  }

  /** Resolves once the worker is ready; an `initial` one that exits before rejects (the pool does not start). */
  private launch(slot: Slot, initial: boolean): Promise<void> {
    const { config, metrics } = this.options;
    const worker = new Worker(ENTRY, {
      workerData: {
        index: slot.index,
        config,
        metricLabels: metrics.defaultLabels,
        logFormat: resolveLogFormat(config.logFormat, process.stdout.isTTY === true),
        groupId: this.options.groupId,
      } satisfies WorkerData,
      name: `viewer-analytics-${slot.index}`,
    });
    slot.worker = worker;
    slot.ready = false;
    slot.lastError = null;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          slot.ready = true;
          this.options.onWorkerReady?.(slot.index);
          resolve();
          return;
        }
        slot.replies.get(message.id)?.(message);
        slot.replies.delete(message.id);
      });
      worker.on('error', (error) => {
        slot.lastError = error;
      });
      worker.once('exit', (exitCode) => {
        const wasReady = slot.ready;
        slot.worker = null;
        slot.ready = false;
        slot.replies.clear();
        // What it counted stays counted: the successor starts its counters from zero.
        slot.retired = [...slot.retired, ...countsOnly(slot.lastSnapshot)];
        slot.lastSnapshot = [];
        if (this.stopping) return resolve();
        const error =
          slot.lastError instanceof Error
            ? slot.lastError
            : new Error(`viewer analytics worker ${slot.index} exited with code ${exitCode}`);
        if (!wasReady && initial)
          return reject(
            new Error(`viewer analytics worker ${slot.index} failed to start: ${error.message}`, { cause: error }),
          );
        this.crashed(slot, exitCode, error);
      });
    });
  }

  private crashed(slot: Slot, exitCode: number, error: Error): void {
    const now = Date.now();
    this.crashTimes.push(now);
    const verdict = crashVerdict(this.crashTimes, now, this.options.crashPolicy ?? DEFAULT_CRASH_POLICY);
    if (verdict.action === 'give up') {
      this.options.logger.fatal(
        { worker: slot.index, exitCode, err: error, recentCrashes: verdict.recentCrashes },
        'viewer analytics workers keep crashing; giving up',
      );
      this.options.onGiveUp(
        new Error(`viewer analytics workers crashed ${verdict.recentCrashes} times in a row: ${error.message}`, {
          cause: error,
        }),
      );
      return;
    }
    this.options.logger.error(
      { worker: slot.index, exitCode, err: error, restartInMs: verdict.afterMs },
      'viewer analytics worker crashed; its partitions go to the other members until it is restarted',
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.stopping) return;
      this.restarts += 1;
      // A restart that fails to start ends in 'exit' again, which counts as another crash.
      this.launch(slot, false).then(
        () => this.options.logger.info({ worker: slot.index }, 'viewer analytics worker restarted'),
        () => undefined,
      );
    }, verdict.afterMs);
  }

  private request(slot: Slot, message: Extract<ToWorker, { id: number }>): Promise<FromWorker> {
    const worker = slot.worker;
    if (!worker) return Promise.reject(new Error(`worker ${slot.index} is not running`));
    return new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.replies.delete(message.id);
        reject(new Error(`worker ${slot.index} did not answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      slot.replies.set(message.id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      worker.postMessage(message);
    });
  }

  /** Every worker's metrics (a worker that does not answer counts with its last ones) plus what crashed workers counted. */
  private async workersMetrics(): Promise<MetricsSnapshot> {
    const snapshots = await Promise.all(
      this.slots.map(async (slot) => {
        const reply = slot.ready
          ? await this.request(slot, { type: 'metrics', id: this.nextRequestId++ }).catch(() => null)
          : null;
        if (reply?.type === 'metrics') slot.lastSnapshot = reply.snapshot;
        return [...slot.retired, ...slot.lastSnapshot];
      }),
    );
    return snapshots.flat();
  }
}
