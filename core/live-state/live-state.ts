/**
 * Live state: small, hot, shared, expiring. Rate limits, counters, dedupe keys, bans cache.
 * Embedded: in memory. Distributed: Redis (so every gateway/collector node sees the same state).
 */
export interface RateDecision {
  allowed: boolean;
  /** Requests still allowed in the current window after this one. */
  remaining: number;
  /** When not allowed: how long until one more request would be. */
  retryAfterMs: number;
}

export interface LiveState {
  readonly kind: 'memory' | 'redis';
  /** Sliding-window rate limit: counts this attempt against `limit` per `windowMs` for `key`. */
  consumeRate(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  /** Adds `by` to a counter and returns the new value; the TTL is set when the counter is created. */
  increment(key: string, by: number, ttlMs: number): Promise<number>;
  get(key: string): Promise<string | null>;
  /** Many values at once, in order (null for a missing one), in one round trip. */
  getMany(keys: string[]): Promise<Array<string | null>>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only if absent (SET NX): true if this call set it. The dedupe primitive. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Marks many keys at once; returns, in order, whether each was newly set. */
  setManyIfAbsent(keys: string[], value: string, ttlMs: number): Promise<boolean[]>;
  delete(key: string): Promise<void>;
  /**
   * Sets some fields of a hash and (re)sets the hash's TTL. Fields are written independently, so
   * writers that each own different fields of one hash never lose each other's updates.
   */
  setFields(key: string, fields: Record<string, string>, ttlMs: number): Promise<void>;
  /** Every field of each hash, in order ({} for a missing one), in one round trip. */
  getAllFields(keys: string[]): Promise<Array<Record<string, string>>>;
  /** Records members as seen at `atMs`; a later time wins, an earlier one never moves a member back. */
  markRecent(key: string, members: string[], atMs: number): Promise<void>;
  /** Members last seen at or after `sinceMs`, most recent first; older ones are dropped for good. */
  recentMembers(key: string, sinceMs: number): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `increment` on a key that holds a value which is not an integer. */
export class NotACounterError extends Error {
  constructor(readonly key: string) {
    super(`live state key ${JSON.stringify(key)} holds a value that is not an integer counter`);
    this.name = 'NotACounterError';
  }
}
