import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import type { LiveState } from '../../core/live-state/live-state.ts';
import type { CmcdSessionState } from './cmcd-session.ts';

/**
 * Keeps each CMCD session's state in live state and runs the requests of one session one at a
 * time: players with a batch size of 1 send a report per event, so the `s` and `p` of a start
 * arrive as concurrent requests, and both must see each other's state. Within a process the
 * requests of a session queue in arrival order; across collector nodes a short lease in live
 * state (SET NX with a TTL) keeps them apart.
 */
export class SessionBusyError extends Error {
  constructor(
    readonly sessionKey: string,
    waitedMs: number,
  ) {
    super(`session ${sessionKey} is busy with another request (waited ${waitedMs} ms)`);
    this.name = 'SessionBusyError';
  }
}

export interface CmcdSessionStoreOptions {
  /** How long an idle session's state is kept. */
  ttlMs: number;
  /** Lease on a session while a request works on it; outlives any sane request. */
  leaseMs?: number;
  /** How long a request waits for another node's lease before answering 503. */
  maxWaitMs?: number;
}

export interface SessionWork<T> {
  /** The state to store, or undefined to leave the stored state as it was (the request failed or changed nothing). */
  next?: CmcdSessionState;
  result: T;
}

const stateKey = (key: string) => `ingest:cmcd:${key}`;
const leaseKey = (key: string) => `ingest:cmcd-lease:${key}`;

export class CmcdSessionStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly liveState: LiveState,
    private readonly options: CmcdSessionStoreOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.maxWaitMs = options.maxWaitMs ?? 2_000;
  }

  /** Runs `work` with the session's stored state, alone among the requests of that session. */
  withSession<T>(
    sessionKey: string,
    work: (state: CmcdSessionState | undefined) => Promise<SessionWork<T>>,
  ): Promise<T> {
    const previous = this.queues.get(sessionKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.underLease(sessionKey, work));
    const tail = run.catch(() => undefined);
    this.queues.set(sessionKey, tail);
    void tail.then(() => {
      if (this.queues.get(sessionKey) === tail) this.queues.delete(sessionKey);
    });
    return run;
  }

  private async underLease<T>(
    sessionKey: string,
    work: (state: CmcdSessionState | undefined) => Promise<SessionWork<T>>,
  ): Promise<T> {
    const token = randomBytes(9).toString('base64url');
    await this.acquire(sessionKey, token);
    try {
      const stored = await this.liveState.get(stateKey(sessionKey));
      const { next, result } = await work(stored ? parseState(stored) : undefined);
      if (next) await this.liveState.set(stateKey(sessionKey), JSON.stringify(next), this.options.ttlMs);
      return result;
    } finally {
      // Best effort: a lease that outlived its TTL may belong to someone else by now.
      if ((await this.liveState.get(leaseKey(sessionKey))) === token) await this.liveState.delete(leaseKey(sessionKey));
    }
  }

  private async acquire(sessionKey: string, token: string): Promise<void> {
    const started = Date.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      if (await this.liveState.setIfAbsent(leaseKey(sessionKey), token, this.leaseMs)) return;
      const waited = Date.now() - started;
      if (waited >= this.maxWaitMs) throw new SessionBusyError(sessionKey, waited);
      await sleep(delay);
    }
  }
}

/** A state written by an older or broken process is dropped rather than trusted: the session starts afresh. */
function parseState(stored: string): CmcdSessionState | undefined {
  try {
    const state = JSON.parse(stored) as CmcdSessionState;
    return state && state.v === 1 && typeof state.viewId === 'string' && state.counters ? state : undefined;
  } catch {
    return undefined;
  }
}
