import type { LiveState } from '../core/live-state/live-state.ts';
import type { Logger } from '../core/logger.ts';
import { ObjectNotFoundError, type ObjectStore } from '../core/object-store/object-store.ts';
import type { Highlight } from '../core/schemas/highlight.ts';
import {
  clipJobRecordValidator,
  clipKeys,
  jobIdFromKey,
  JOBS_PREFIX,
  type ClipFailure,
  type ClipJobRecord,
  type ClipStatus,
} from '../core/clips/clip-records.ts';

/**
 * The clip job queue: durable job records in the object store (they survive every worker), and
 * leases in live state (Redis when distributed) so one worker at a time runs a job. A lease
 * expires unless its holder renews it, so a job whose worker died (SIGKILL, a lost spot
 * instance) is picked up by another worker once the lease runs out — the SQS visibility-timeout
 * pattern, with the object store as the queue.
 *
 * Live state has no compare-and-set, so renewing is get-then-set: a holder that stalls past its
 * lease can, for one renewal, overwrite a new holder's lease. Both then run the job; outputs are
 * deterministic and the manifest is written last, so the result is the same clip, and the next
 * renewal of one of them fails and stops it.
 */
export type EnqueueOutcome = 'enqueued' | 'already-queued' | 'already-done' | 'already-failed';

export interface Lease {
  readonly jobId: string;
  /** False when the lease is gone or held by another worker: stop working on the job. */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface ClipJobQueueOptions {
  objectStore: ObjectStore;
  liveState: LiveState;
  workerId: string;
  leaseMs: number;
  statusTtlMs?: number;
  logger: Logger;
}

const leaseKey = (id: string) => `clip-job-lease:${id}`;
const UNREADABLE_JOBS_PREFIX = 'clip-jobs-unreadable/';
const statusKey = (id: string) => `clip-status:${id}`;

export class ClipJobQueue {
  readonly workerId: string;
  readonly leaseMs: number;
  private readonly store: ObjectStore;
  private readonly liveState: LiveState;
  private readonly statusTtlMs: number;
  private readonly logger: Logger;

  constructor(options: ClipJobQueueOptions) {
    this.store = options.objectStore;
    this.liveState = options.liveState;
    this.workerId = options.workerId;
    this.leaseMs = options.leaseMs;
    this.statusTtlMs = options.statusTtlMs ?? 24 * 3_600_000;
    this.logger = options.logger;
  }

  /**
   * Records a job for the highlight unless its clip is already queued, made or given up. The
   * manifest and the failure tombstone are written before a job record is deleted, so checking
   * the record first never misses a finished clip.
   */
  async enqueue(highlight: Highlight, clipId: string, now: number): Promise<EnqueueOutcome> {
    if (await this.store.head(clipKeys.job(clipId))) return 'already-queued';
    if (await this.store.head(clipKeys.manifest(clipId))) return 'already-done';
    if (await this.store.head(clipKeys.failure(clipId))) return 'already-failed';
    const record: ClipJobRecord = {
      schema_v: 1,
      clip_id: clipId,
      highlight,
      enqueued_at: now,
      attempts: 0,
      not_before: now,
    };
    await this.save(record);
    await this.setStatus({
      clip_id: clipId,
      stream_id: highlight.stream_id,
      state: 'queued',
      attempts: 0,
      updated_at: now,
    });
    return 'enqueued';
  }

  async openJobIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const object of this.store.list(JOBS_PREFIX)) {
      const id = jobIdFromKey(object.key);
      if (id) ids.push(id);
    }
    return ids;
  }

  /** The job's record, or null when it is finished (or its record cannot be read: it is moved aside and logged). */
  async read(id: string): Promise<ClipJobRecord | null> {
    let raw: Buffer;
    try {
      raw = await this.store.get(clipKeys.job(id));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return null;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (!clipJobRecordValidator.check(parsed) || parsed.clip_id !== id) {
      // Moved aside, out of the scan, for an operator to look at; logged once.
      await this.store.put(`${UNREADABLE_JOBS_PREFIX}${id}.json`, raw, { contentType: 'application/json' });
      await this.store.delete(clipKeys.job(id));
      this.logger.error(
        {
          clipId: id,
          errors: clipJobRecordValidator.errors(parsed, 5),
          movedTo: `${UNREADABLE_JOBS_PREFIX}${id}.json`,
        },
        'clip job record is unreadable; moved aside',
      );
      return null;
    }
    return parsed;
  }

  async save(record: ClipJobRecord): Promise<void> {
    await this.store.put(clipKeys.job(record.clip_id), JSON.stringify(record), { contentType: 'application/json' });
  }

  async claim(id: string): Promise<Lease | null> {
    const key = leaseKey(id);
    if (!(await this.liveState.setIfAbsent(key, this.workerId, this.leaseMs))) return null;
    return {
      jobId: id,
      renew: async () => {
        if ((await this.liveState.get(key)) !== this.workerId) return false;
        await this.liveState.set(key, this.workerId, this.leaseMs);
        return true;
      },
      release: async () => {
        if ((await this.liveState.get(key)) === this.workerId) await this.liveState.delete(key);
      },
    };
  }

  /** The job is done: its manifest is written, so the record goes. */
  async complete(id: string): Promise<void> {
    await this.store.delete(clipKeys.job(id));
  }

  /** Given up: the tombstone first (intake checks it), then the record. */
  async fail(record: ClipJobRecord, reason: string, now: number): Promise<void> {
    const failure: ClipFailure = {
      schema_v: 1,
      clip_id: record.clip_id,
      highlight_id: record.highlight.highlight_id,
      reason: reason.slice(0, 2048),
      failed_at: now,
    };
    await this.store.put(clipKeys.failure(record.clip_id), JSON.stringify(failure), {
      contentType: 'application/json',
    });
    await this.store.delete(clipKeys.job(record.clip_id));
  }

  async setStatus(status: ClipStatus): Promise<void> {
    await this.liveState.set(statusKey(status.clip_id), JSON.stringify(status), this.statusTtlMs);
  }

  async status(id: string): Promise<ClipStatus | null> {
    const raw = await this.liveState.get(statusKey(id));
    return raw === null ? null : (JSON.parse(raw) as ClipStatus);
  }
}
