import { performance } from 'node:perf_hooks';
import { ExpiryQueue, type ExpiryItem } from './expiry-queue.ts';
import { NotACounterError, type LiveState, type RateDecision } from './live-state.ts';
import { assertPositiveInteger, assertSafeInteger } from './live-state-arguments.ts';
import { consumeSlidingWindowLog } from './sliding-window-log.ts';

interface ValueEntry {
  kind: 'value';
  value: string;
  expiresAt: number;
}

interface RateLogEntry {
  kind: 'rateLog';
  log: number[];
  expiresAt: number;
}

interface HashEntry {
  kind: 'hash';
  fields: Map<string, string>;
  expiresAt: number;
}

interface RecencyEntry {
  kind: 'recency';
  /** Member → when it was last seen (the caller's clock, epoch ms). */
  seenAt: Map<string, number>;
  expiresAt: number;
}

type Entry = ValueEntry | RateLogEntry | HashEntry | RecencyEntry;

export interface MemoryLiveStateOptions {
  /** Most keys held (values, counters and rate-limit logs together); past it the soonest-expiring key is evicted. */
  maxKeys?: number;
  /** How often expired keys are dropped even if nothing reads them again. */
  sweepIntervalMs?: number;
}

// Values and rate-limit logs live in separate namespaces, as in the Redis adapter.
const valueKey = (key: string) => `kv:${key}`;
const rateLogKey = (key: string) => `rate:${key}`;
const hashKey = (key: string) => `hash:${key}`;
const recencyKey = (key: string) => `recent:${key}`;

// A monotonic clock, so a wall-clock step cannot stretch or shrink TTLs and rate windows.
const now = () => performance.now();

const INTEGER = /^-?\d+$/;

/**
 * Live state for one process (embedded mode). Bounded: at `maxKeys` the key closest to expiry
 * (keys without a TTL last) is evicted to make room. Expired keys are dropped when read and by a
 * periodic sweep.
 */
export class MemoryLiveState implements LiveState {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  /**
   * Every change of an entry's expiry pushes a new item instead of moving the old one; an item
   * counts only while it matches its entry's current expiry, and the stale rest is compacted away.
   */
  private readonly expiries = new ExpiryQueue();
  private readonly maxKeys: number;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor({ maxKeys = 100_000, sweepIntervalMs = 1_000 }: MemoryLiveStateOptions = {}) {
    assertPositiveInteger('maxKeys', maxKeys);
    assertPositiveInteger('sweepIntervalMs', sweepIntervalMs);
    this.maxKeys = maxKeys;
    // unref: the sweep must never be what keeps a finished process alive.
    this.sweepTimer = setInterval(() => this.dropExpired(now()), sweepIntervalMs).unref();
  }

  /** Keys held, counting expired ones that have not been dropped yet. */
  get size(): number {
    return this.entries.size;
  }

  async consumeRate(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    assertPositiveInteger('limit', limit);
    assertPositiveInteger('windowMs', windowMs);
    const at = now();
    const mapKey = rateLogKey(key);
    const existing = this.liveEntry(mapKey, at);
    const entry: RateLogEntry = existing?.kind === 'rateLog' ? existing : { kind: 'rateLog', log: [], expiresAt: at };
    const decision = consumeSlidingWindowLog(entry.log, at, limit, windowMs);
    if (decision.allowed) {
      // The log is useless once its newest attempt has left the window.
      entry.expiresAt = at + windowMs;
      if (entry === existing) this.trackExpiry(mapKey, entry);
      else this.insert(mapKey, entry, at);
    }
    return decision;
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    assertSafeInteger('by', by);
    assertPositiveInteger('ttlMs', ttlMs);
    const at = now();
    const mapKey = valueKey(key);
    const entry = this.liveValue(mapKey, at);
    if (!entry) {
      this.insert(mapKey, { kind: 'value', value: String(by), expiresAt: at + ttlMs }, at);
      return by;
    }
    const current = INTEGER.test(entry.value) ? Number(entry.value) : Number.NaN;
    const next = current + by;
    if (!Number.isSafeInteger(current) || !Number.isSafeInteger(next)) throw new NotACounterError(key);
    entry.value = String(next);
    return next;
  }

  async get(key: string): Promise<string | null> {
    return this.liveValue(valueKey(key), now())?.value ?? null;
  }

  async getMany(keys: string[]): Promise<Array<string | null>> {
    const at = now();
    return keys.map((key) => this.liveValue(valueKey(key), at)?.value ?? null);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs !== undefined) assertPositiveInteger('ttlMs', ttlMs);
    const at = now();
    this.insert(valueKey(key), { kind: 'value', value, expiresAt: ttlMs === undefined ? Infinity : at + ttlMs }, at);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    assertPositiveInteger('ttlMs', ttlMs);
    return this.insertIfAbsent(valueKey(key), value, ttlMs, now());
  }

  async setManyIfAbsent(keys: string[], value: string, ttlMs: number): Promise<boolean[]> {
    assertPositiveInteger('ttlMs', ttlMs);
    const at = now();
    return keys.map((key) => this.insertIfAbsent(valueKey(key), value, ttlMs, at));
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(valueKey(key));
  }

  async setFields(key: string, fields: Record<string, string>, ttlMs: number): Promise<void> {
    assertPositiveInteger('ttlMs', ttlMs);
    const at = now();
    const mapKey = hashKey(key);
    const existing = this.liveEntry(mapKey, at);
    if (existing?.kind === 'hash') {
      for (const [field, value] of Object.entries(fields)) existing.fields.set(field, value);
      existing.expiresAt = at + ttlMs;
      this.trackExpiry(mapKey, existing);
      return;
    }
    this.insert(mapKey, { kind: 'hash', fields: new Map(Object.entries(fields)), expiresAt: at + ttlMs }, at);
  }

  async getAllFields(keys: string[]): Promise<Array<Record<string, string>>> {
    const at = now();
    return keys.map((key) => {
      const entry = this.liveEntry(hashKey(key), at);
      return entry?.kind === 'hash' ? Object.fromEntries(entry.fields) : {};
    });
  }

  async markRecent(key: string, members: string[], atMs: number): Promise<void> {
    assertSafeInteger('atMs', atMs);
    const at = now();
    const mapKey = recencyKey(key);
    let entry = this.liveEntry(mapKey, at);
    if (entry?.kind !== 'recency') {
      entry = { kind: 'recency', seenAt: new Map(), expiresAt: Infinity };
      this.insert(mapKey, entry, at);
    }
    for (const member of members) entry.seenAt.set(member, Math.max(atMs, entry.seenAt.get(member) ?? -Infinity));
  }

  async recentMembers(key: string, sinceMs: number): Promise<string[]> {
    assertSafeInteger('sinceMs', sinceMs);
    const entry = this.liveEntry(recencyKey(key), now());
    if (entry?.kind !== 'recency') return [];
    // Ties in reverse byte order, as Redis's ZREVRANGE has them.
    for (const [member, seenAt] of entry.seenAt) if (seenAt < sinceMs) entry.seenAt.delete(member);
    return [...entry.seenAt].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).map(([member]) => member);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.entries.clear();
    this.expiries.rebuild([]);
  }

  private insertIfAbsent(mapKey: string, value: string, ttlMs: number, at: number): boolean {
    if (this.liveEntry(mapKey, at)) return false;
    this.insert(mapKey, { kind: 'value', value, expiresAt: at + ttlMs }, at);
    return true;
  }

  private liveValue(mapKey: string, at: number): ValueEntry | undefined {
    const entry = this.liveEntry(mapKey, at);
    return entry?.kind === 'value' ? entry : undefined;
  }

  private liveEntry(mapKey: string, at: number): Entry | undefined {
    const entry = this.entries.get(mapKey);
    if (entry && entry.expiresAt <= at) {
      this.entries.delete(mapKey);
      return undefined;
    }
    return entry;
  }

  private insert(mapKey: string, entry: Entry, at: number): void {
    if (!this.entries.has(mapKey) && this.entries.size >= this.maxKeys) {
      this.dropExpired(at);
      while (this.entries.size >= this.maxKeys) this.evictSoonestExpiring();
    }
    this.entries.set(mapKey, entry);
    this.trackExpiry(mapKey, entry);
  }

  private trackExpiry(mapKey: string, entry: Entry): void {
    this.expiries.push({ key: mapKey, expiresAt: entry.expiresAt });
    if (this.expiries.size > 2 * this.entries.size + 1_024) {
      this.expiries.rebuild([...this.entries].map(([key, { expiresAt }]) => ({ key, expiresAt })));
    }
  }

  private isCurrent(item: ExpiryItem): boolean {
    return this.entries.get(item.key)?.expiresAt === item.expiresAt;
  }

  private dropExpired(at: number): void {
    for (let item = this.expiries.peek(); item && item.expiresAt <= at; item = this.expiries.peek()) {
      this.expiries.pop();
      if (this.isCurrent(item)) this.entries.delete(item.key);
    }
  }

  private evictSoonestExpiring(): void {
    for (let item = this.expiries.pop(); item; item = this.expiries.pop()) {
      if (this.isCurrent(item)) {
        this.entries.delete(item.key);
        return;
      }
    }
  }
}
