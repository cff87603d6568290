import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLiveState } from '../core/live-state/memory-live-state.ts';
import { Metrics } from '../core/metrics.ts';
import { LocalObjectStore } from '../core/object-store/local-object-store.ts';
import type { Highlight } from '../core/schemas/highlight.ts';
import { waitFor } from '../test/wait-for.ts';
import type { ClipJobResult, JobReporter } from './clip-job.ts';
import { CorruptRecordingError, RecordingNotReadyError } from './clip-errors.ts';
import { clipId, clipKeys, type ClipJobRecord, type ClipManifest } from '../core/clips/clip-records.ts';
import { ClipJobQueue } from './job-queue.ts';
import { ClipJobRunner } from './job-runner.ts';

const logger = pino({ level: 'silent' });
const T0 = Date.parse('2026-05-01T20:00:00.000Z');

function highlight(n: number): Highlight {
  return {
    schema_v: 1,
    highlight_id: `hl_${n}`,
    stream_id: 'st-1',
    start: T0 + n * 60_000,
    end: T0 + n * 60_000 + 30_000,
    score: 4,
    reasons: ['test'],
    detected_at: T0,
  };
}

const done = (record: ClipJobRecord): ClipJobResult => ({
  kind: 'completed',
  manifest: { clip_id: record.clip_id } as ClipManifest,
});

describe('ClipJobRunner', () => {
  let root: string;
  let store: LocalObjectStore;
  let liveState: MemoryLiveState;
  const runners: ClipJobRunner[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'livepulse-jobs-'));
    store = new LocalObjectStore({ root });
    liveState = new MemoryLiveState();
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    await liveState.close();
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  function queue(workerId = 'worker-a', leaseMs = 600) {
    return new ClipJobQueue({ objectStore: store, liveState, workerId, leaseMs, logger });
  }

  function runner(
    options: Partial<ConstructorParameters<typeof ClipJobRunner>[0]> &
      Pick<ConstructorParameters<typeof ClipJobRunner>[0], 'execute'>,
  ) {
    const failures: Array<{ id: string; reason: string }> = [];
    const created = new ClipJobRunner({
      queue: queue(),
      concurrency: 2,
      scanIntervalMs: 30,
      maxAttempts: 3,
      logger,
      metrics: new Metrics(),
      random: () => 0,
      onPermanentFailure: (record, reason) => {
        failures.push({ id: record.clip_id, reason });
        return Promise.resolve();
      },
      ...options,
    });
    runners.push(created);
    return { runner: created, failures };
  }

  async function enqueue(n: number, q = queue()): Promise<string> {
    const id = clipId({ streamId: 'st-1', startMs: highlight(n).start, endMs: highlight(n).end, profileVersion: 'p' });
    expect(await q.enqueue(highlight(n), id, Date.now())).toBe('enqueued');
    return id;
  }

  it('runs a queued job once and removes its record', async () => {
    const ran: string[] = [];
    const { runner: r } = runner({
      execute: (record) => {
        ran.push(record.clip_id);
        return Promise.resolve(done(record));
      },
    });
    const id = await enqueue(1);
    r.start();
    await waitFor('the job to complete', async () => (await queue().status(id))?.state === 'completed');
    expect(await store.head(clipKeys.job(id))).toBeNull();
    expect(ran).toEqual([id]);
  });

  it('takes a highlight once: a repeat finds its job, its manifest or its tombstone', async () => {
    const q = queue();
    const id = await enqueue(2, q);
    expect(await q.enqueue(highlight(2), id, Date.now())).toBe('already-queued');
    await store.delete(clipKeys.job(id));
    await store.put(clipKeys.manifest(id), '{}');
    expect(await q.enqueue(highlight(2), id, Date.now())).toBe('already-done');
    await store.delete(clipKeys.manifest(id));
    await store.put(clipKeys.failure(id), '{}');
    expect(await q.enqueue(highlight(2), id, Date.now())).toBe('already-failed');
  });

  it('moves an unreadable job record aside instead of scanning it forever', async () => {
    const id = await enqueue(6);
    await store.put(clipKeys.job(id), '{"schema_v": 1, "clip_id": "garbage"}');
    const ran: string[] = [];
    const { runner: r } = runner({
      execute: (record) => {
        ran.push(record.clip_id);
        return Promise.resolve(done(record));
      },
    });
    r.start();
    await waitFor(
      'the record to be moved aside',
      async () => (await store.head(`clip-jobs-unreadable/${id}.json`)) !== null,
    );
    expect(await store.head(clipKeys.job(id))).toBeNull();
    expect(ran).toEqual([]);
  });

  it('retries a transient failure with backoff and gives up after the last attempt', async () => {
    const attempts: number[] = [];
    const { runner: r, failures } = runner({
      execute: (record) => {
        attempts.push(record.attempts);
        return Promise.reject(new Error('S3 is down'));
      },
    });
    const id = await enqueue(3);
    r.start();
    // Backoff with random()=0: 1 s, then 2 s; the third failure is the last attempt.
    // The failure is announced, the tombstone written, the record removed; the status says so last.
    await waitFor('the job to be given up', async () => (await queue().status(id))?.state === 'failed', {
      timeoutMs: 10_000,
    });
    expect(await store.head(clipKeys.job(id))).toBeNull();
    expect(attempts).toEqual([0, 1, 2]);
    expect(failures[0]).toEqual({ id, reason: 'gave up after 3 attempts: S3 is down' });
    expect(JSON.parse((await store.get(clipKeys.failure(id))).toString())).toMatchObject({
      clip_id: id,
      reason: 'gave up after 3 attempts: S3 is down',
    });
    expect(await queue().status(id)).toMatchObject({ state: 'failed', attempts: 3 });
  });

  it('fails a permanent error at once, with its reason', async () => {
    const { runner: r, failures } = runner({
      execute: () => Promise.reject(new CorruptRecordingError('0.ts is not MPEG-TS')),
    });
    const id = await enqueue(4);
    r.start();
    await waitFor(
      'the failure',
      async () => failures.length === 1 && (await store.head(clipKeys.failure(id))) !== null,
    );
    expect(failures[0]).toEqual({ id, reason: 'corrupt recording: 0.ts is not MPEG-TS' });
  });

  it('defers a job waiting for its recording without counting an attempt', async () => {
    let calls = 0;
    const { runner: r } = runner({
      execute: (record) =>
        Promise.try(() => {
          calls++;
          if (calls === 1) throw new RecordingNotReadyError('coverage', 'the live recording is 4000 ms short', 300);
          expect(record.attempts).toBe(0);
          return done(record);
        }),
    });
    const id = await enqueue(5);
    r.start();
    await waitFor('the job to finish after waiting', async () => calls === 2 && !(await store.head(clipKeys.job(id))), {
      timeoutMs: 5_000,
    });
  });

  it('never runs more jobs at once than its concurrency', async () => {
    let running = 0;
    let most = 0;
    const { runner: r } = runner({
      concurrency: 2,
      execute: async (record) => {
        running++;
        most = Math.max(most, running);
        await sleep(80);
        running--;
        return done(record);
      },
    });
    const ids = [];
    for (let n = 10; n < 15; n++) ids.push(await enqueue(n));
    r.start();
    await waitFor('every job to finish', async () => (await queue().openJobIds()).length === 0, { timeoutMs: 10_000 });
    expect(most).toBe(2);
  });

  it('on stop, aborts the running job and leaves it queued for another worker, attempts unchanged', async () => {
    let started = false;
    const { runner: r } = runner({
      execute: (_record, signal) =>
        new Promise((_resolve, reject) => {
          started = true;
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
    });
    const id = await enqueue(20);
    r.start();
    await waitFor('the job to start', () => started);
    await r.stop();
    const record = JSON.parse((await store.get(clipKeys.job(id))).toString()) as ClipJobRecord;
    expect(record.attempts).toBe(0);
    expect(await liveState.get(`clip-job-lease:${id}`)).toBeNull();
    expect(await queue().status(id)).toMatchObject({
      state: 'queued',
      reason: 'job preempted: the worker is shutting down',
    });
  });

  it('leaves a job leased by another worker alone until that lease expires, then takes it over', async () => {
    const id = await enqueue(30);
    const other = await queue('worker-b').claim(id);
    expect(other).not.toBeNull();
    const ran: string[] = [];
    const { runner: r } = runner({
      execute: (record) => {
        ran.push(record.clip_id);
        return Promise.resolve(done(record));
      },
    });
    r.start();
    await sleep(300);
    expect(ran).toEqual([]);
    await waitFor('the job to be taken over', () => ran.length === 1, { timeoutMs: 5_000 });
  });

  it('stops a job whose lease was taken by another worker', async () => {
    let reason = '';
    const { runner: r } = runner({
      execute: (record, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reason = (signal.reason as Error).message;
            reject(signal.reason as Error);
          });
          // Another worker takes the lease (after a stall of this one, say).
          setTimeout(() => void liveState.set(`clip-job-lease:${record.clip_id}`, 'worker-b', 600), 50);
        }),
    });
    await enqueue(40);
    r.start();
    await waitFor('the job to be stopped', () => reason !== '');
    expect(reason).toBe('job preempted: the job lease was lost to another worker');
  });

  it('reports progress in the status, at most once a second', async () => {
    let reporter!: JobReporter;
    let finish!: () => void;
    const { runner: r } = runner({
      execute: (record, signal, report) => {
        reporter = report;
        return new Promise((resolve, reject) => {
          finish = () => resolve(done(record));
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        });
      },
    });
    const id = await enqueue(50);
    r.start();
    await waitFor('the job to start', () => reporter !== undefined);
    reporter.status({ phase: 'full', progress: 0 });
    reporter.progress('full', { outTimeMs: 15_000, ratio: 0.5, speed: 1.4, done: false });
    await waitFor('the status to show progress', async () => (await queue().status(id))?.progress === 0.5, {
      timeoutMs: 3_000,
    });
    expect(await queue().status(id)).toMatchObject({
      state: 'running',
      phase: 'full',
      progress: 0.5,
      speed: 1.4,
      worker: 'worker-a',
    });
    finish();
    await waitFor('the final status', async () => (await queue().status(id))?.state === 'completed');
  });
});
