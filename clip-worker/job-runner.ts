import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ClipJobResult, JobReporter } from './clip-job.ts';
import { classifyFailure, JobPreemptedError, RecordingNotReadyError, retryDelayMs } from './clip-errors.ts';
import type { ClipJobRecord, ClipStatus } from '../core/clips/clip-records.ts';
import type { FfmpegProgress } from './ffmpeg/progress.ts';
import type { ClipJobQueue, Lease } from './job-queue.ts';

/**
 * Runs clip jobs from the queue with a fixed number of slots. Jobs come from the intake (offered
 * at once when a slot is free) and from a periodic scan of open job records, which is also how
 * jobs of dead workers are picked up once their lease expires. Each running job renews its lease
 * every third of the lease time; losing it, or the worker shutting down, aborts the job (ffmpeg
 * is killed) and leaves the record for another worker without counting an attempt.
 */
export interface ClipJobRunnerOptions {
  queue: ClipJobQueue;
  execute: (record: ClipJobRecord, signal: AbortSignal, reporter: JobReporter) => Promise<ClipJobResult>;
  /** Called before a job is given up: the failed clip event and the dead letter. */
  onPermanentFailure: (record: ClipJobRecord, reason: string) => Promise<void>;
  concurrency: number;
  scanIntervalMs: number;
  maxAttempts: number;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  random?: () => number;
}

export type JobOutcome = 'completed' | 'already_complete' | 'deferred' | 'retried' | 'preempted' | 'failed';

const STATUS_WRITE_INTERVAL_MS = 1_000;

export class ClipJobRunner {
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private stopping = false;
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly activeGauge;
  private readonly outcomes;
  private readonly durations;
  private readonly progressGauge;
  private readonly speedHistogram;

  constructor(private readonly options: ClipJobRunnerOptions) {
    this.now = options.now ?? Date.now;
    const { metrics } = options;
    this.activeGauge = metrics.gauge('clip_jobs_active', 'Clip jobs running on this worker');
    this.outcomes = metrics.counter('clip_job_attempts_total', 'Clip job attempts by outcome', ['outcome']);
    this.durations = metrics.histogram(
      'clip_job_attempt_seconds',
      'Wall time of clip job attempts by outcome',
      ['outcome'],
      [0.5, 1, 2, 3, 5, 10, 20, 40, 80, 160],
    );
    this.progressGauge = metrics.gauge(
      'clip_job_progress_ratio',
      "ffmpeg's progress through the running phase of each clip job, 0–1",
      ['clip_id', 'phase'],
    );
    this.speedHistogram = metrics.histogram(
      'clip_ffmpeg_speed_ratio',
      "ffmpeg's speed (× realtime) at the end of each phase",
      ['phase'],
      [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128],
    );
  }

  get activeJobs(): number {
    return this.active.size;
  }

  start(): void {
    const tick = () => {
      if (this.stopping) return;
      this.scanning = this.scan()
        .catch((error: unknown) =>
          this.options.logger.error({ err: error }, 'scanning clip jobs failed; will try again'),
        )
        .finally(() => {
          this.scanning = null;
          if (!this.stopping) this.scanTimer = setTimeout(tick, this.options.scanIntervalMs);
        });
    };
    tick();
  }

  /** Runs the job now if a slot is free (the intake's fast path); otherwise the scan finds it. */
  offer(id: string): void {
    if (this.stopping || this.active.has(id) || this.active.size >= this.options.concurrency) return;
    this.launch(id);
  }

  /** Stops taking jobs, aborts the running ones (killing ffmpeg) and waits until their leases are released. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.scanTimer);
    for (const { controller } of this.active.values())
      controller.abort(new JobPreemptedError('the worker is shutting down'));
    await Promise.allSettled([this.scanning, ...[...this.active.values()].map((a) => a.done)]);
  }

  private async scan(): Promise<void> {
    if (this.active.size >= this.options.concurrency) return;
    const ids = await this.options.queue.openJobIds();
    // Workers scanning the same list start from different places, so they rarely race for one lease.
    const random = this.options.random ?? Math.random;
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    for (const id of ids) {
      if (this.stopping || this.active.size >= this.options.concurrency) break;
      if (!this.active.has(id)) this.launch(id);
    }
  }

  private launch(id: string): void {
    const controller = new AbortController();
    const entry = { controller, done: Promise.resolve() };
    this.active.set(id, entry);
    this.activeGauge.set(this.active.size);
    entry.done = this.attempt(id, controller)
      .catch((error: unknown) =>
        this.options.logger.error(
          { err: error, clipId: id },
          'clip job bookkeeping failed; the job will be picked up again',
        ),
      )
      .finally(() => {
        this.active.delete(id);
        this.activeGauge.set(this.active.size);
        // A slot is free: look for more work without waiting for the next scan.
        if (!this.stopping && this.active.size === this.options.concurrency - 1)
          void this.scan().catch(() => undefined);
      });
  }

  private async attempt(id: string, controller: AbortController): Promise<void> {
    const { queue, logger } = this.options;
    const lease = await queue.claim(id);
    if (!lease) return;
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      const record = await queue.read(id);
      if (!record || record.not_before > this.now()) return;
      heartbeat = setInterval(() => void this.renew(lease, controller), Math.max(100, Math.floor(queue.leaseMs / 3)));
      const started = performance.now();
      const reporter = this.reporter(record);
      const outcome = await this.execute(record, controller, reporter);
      this.outcomes.inc({ outcome });
      this.durations.observe({ outcome }, (performance.now() - started) / 1000);
      logger.info(
        {
          clipId: id,
          streamId: record.highlight.stream_id,
          outcome,
          seconds: Math.round(performance.now() - started) / 1000,
        },
        'clip job attempt finished',
      );
    } finally {
      clearInterval(heartbeat);
      this.progressGauge.remove({ clip_id: id, phase: 'fast' });
      this.progressGauge.remove({ clip_id: id, phase: 'full' });
      await lease.release();
    }
  }

  private async renew(lease: Lease, controller: AbortController): Promise<void> {
    try {
      if (!(await lease.renew())) controller.abort(new JobPreemptedError('the job lease was lost to another worker'));
    } catch (error) {
      // Without live state the lease cannot be kept: stop rather than risk two workers for long.
      controller.abort(
        new JobPreemptedError(
          `the job lease could not be renewed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }
  }

  private async execute(
    record: ClipJobRecord,
    controller: AbortController,
    reporter: JobReporter & { flush(): Promise<void> },
  ): Promise<JobOutcome> {
    const { queue, maxAttempts, logger } = this.options;
    const base = { clip_id: record.clip_id, stream_id: record.highlight.stream_id, worker: queue.workerId };
    try {
      const result = await this.options.execute(record, controller.signal, reporter);
      // Pending progress writes go first, so the final status is the last one written.
      await reporter.flush();
      await queue.complete(record.clip_id);
      await queue.setStatus({ ...base, state: 'completed', attempts: record.attempts, updated_at: this.now() });
      return result.kind === 'completed' ? 'completed' : 'already_complete';
    } catch (error) {
      await reporter.flush();
      const reason = error instanceof Error ? error.message : String(error);
      let kind = classifyFailure(error);
      const attempts = kind === 'transient' ? record.attempts + 1 : record.attempts;
      if (kind === 'transient' && attempts >= maxAttempts) kind = 'permanent';
      switch (kind) {
        case 'preempted':
          await queue.setStatus({ ...base, state: 'queued', attempts, reason, updated_at: this.now() });
          logger.info({ clipId: record.clip_id, reason }, 'clip job preempted; it stays queued for another attempt');
          return 'preempted';
        case 'deferred': {
          const retryAfterMs = error instanceof RecordingNotReadyError ? error.retryAfterMs : 5_000;
          await queue.save({ ...record, not_before: this.now() + retryAfterMs, last_error: reason.slice(0, 2048) });
          await queue.setStatus({ ...base, state: 'waiting', attempts, reason, updated_at: this.now() });
          logger.info({ clipId: record.clip_id, reason, retryAfterMs }, 'clip job waits for the recording');
          return 'deferred';
        }
        case 'transient': {
          const delayMs = retryDelayMs(attempts, { random: this.options.random });
          await queue.save({
            ...record,
            attempts,
            not_before: this.now() + delayMs,
            last_error: reason.slice(0, 2048),
          });
          await queue.setStatus({ ...base, state: 'retrying', attempts, reason, updated_at: this.now() });
          logger.warn(
            { clipId: record.clip_id, err: error, attempts, delayMs },
            'clip job failed; retrying with backoff',
          );
          return 'retried';
        }
        case 'permanent': {
          const finalReason =
            attempts >= maxAttempts && classifyFailure(error) === 'transient'
              ? `gave up after ${attempts} attempts: ${reason}`
              : reason;
          await this.options.onPermanentFailure(record, finalReason);
          await queue.fail(record, finalReason, this.now());
          await queue.setStatus({ ...base, state: 'failed', attempts, reason: finalReason, updated_at: this.now() });
          logger.error({ clipId: record.clip_id, reason: finalReason }, 'clip job failed permanently');
          return 'failed';
        }
      }
    }
  }

  /** Status for `GET /v1/clips/:id`, written at most once a second; progress also to metrics and, in quarters, to the log. */
  private reporter(record: ClipJobRecord): JobReporter & { flush(): Promise<void> } {
    const { queue, logger } = this.options;
    let status: ClipStatus = {
      clip_id: record.clip_id,
      stream_id: record.highlight.stream_id,
      state: 'running',
      attempts: record.attempts,
      worker: queue.workerId,
      updated_at: this.now(),
    };
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    let trailing: NodeJS.Timeout | undefined;
    let loggedQuarter = -1;
    const write = (force: boolean) => {
      const now = this.now();
      const wait = lastWrite + STATUS_WRITE_INTERVAL_MS - now;
      if (!force && wait > 0) {
        // Throttled: the latest status is written when the interval is up.
        trailing ??= setTimeout(() => {
          trailing = undefined;
          write(true);
        }, wait);
        return;
      }
      clearTimeout(trailing);
      trailing = undefined;
      lastWrite = now;
      const snapshot = { ...status, updated_at: now };
      writing = writing
        .then(() => queue.setStatus(snapshot))
        .catch((error: unknown) =>
          logger.warn({ err: error, clipId: record.clip_id }, 'clip status could not be written'),
        );
    };
    return {
      status: (update) => {
        const phaseChanged = update.phase !== undefined && update.phase !== status.phase;
        const changed = phaseChanged || (update.state !== undefined && update.state !== status.state);
        if (phaseChanged) {
          loggedQuarter = -1;
          delete status.progress;
          delete status.speed;
        }
        status = { ...status, ...update };
        write(changed);
      },
      progress: (phase, progress: FfmpegProgress) => {
        if (progress.ratio !== undefined) {
          this.progressGauge.set({ clip_id: record.clip_id, phase }, progress.ratio);
          const quarter = Math.floor(progress.ratio * 4);
          if (quarter > loggedQuarter) {
            loggedQuarter = quarter;
            logger.info(
              { clipId: record.clip_id, phase, percent: Math.round(progress.ratio * 100), speed: progress.speed },
              'clip job progress',
            );
          }
        }
        if (progress.done && progress.speed !== undefined) this.speedHistogram.observe({ phase }, progress.speed);
        status = {
          ...status,
          phase,
          ...(progress.ratio !== undefined ? { progress: progress.ratio } : {}),
          ...(progress.speed !== undefined ? { speed: progress.speed } : {}),
        };
        write(progress.done);
      },
      flush: () => {
        clearTimeout(trailing);
        trailing = undefined;
        return writing;
      },
    };
  }
}
