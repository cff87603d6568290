import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NotACounterError, type LiveState, type RateDecision } from './live-state.ts';
import { assertPositiveInteger, assertSafeInteger } from './live-state-arguments.ts';

export interface RedisLiveStateOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Prepended to every key, so Livepulse can share a Redis with other applications. */
  keyPrefix?: string;
  /** A command without a reply after this long rejects instead of waiting on a dead connection. */
  commandTimeoutMs?: number;
  /** Receives connection errors (ioredis reports them as events while it reconnects). */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * consumeSlidingWindowLog (sliding-window-log.ts) as one atomic script: the log is a sorted
 * set scored by attempt time, and time comes from the Redis server so every node agrees on it.
 * KEYS[1] = the log, ARGV = limit, windowMs, a unique member for this attempt.
 * Returns {allowed (1/0), remaining, retryAfterMs}.
 */
const CONSUME_SLIDING_WINDOW_LOG = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
return {0, 0, math.max(1, oldest + window - now)}
`;

/** INCRBY that sets the TTL only when it creates the counter. KEYS[1] = counter, ARGV = by, ttlMs. */
const INCREMENT_WITH_TTL_ON_CREATE = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`;

interface LiveStateScripts {
  consumeSlidingWindowLog(
    key: string,
    limit: number,
    windowMs: number,
    member: string,
  ): Promise<[number, number, number]>;
  incrementWithTtlOnCreate(key: string, by: number, ttlMs: number): Promise<number>;
}

const NOT_AN_INTEGER_REPLY = 'ERR value is not an integer';

/** The replies of a pipeline or transaction, failing on the first command that failed. */
function throwFirstError(replies: Array<[Error | null, unknown]> | null): unknown[] {
  if (!replies) throw new Error('redis pipeline was discarded');
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/** Live state shared by every node (distributed mode). */
export class RedisLiveState implements LiveState {
  readonly kind = 'redis';
  private readonly redis: Redis & LiveStateScripts;
  private readonly keyPrefix: string;

  constructor({ url, keyPrefix = 'livepulse:', commandTimeoutMs = 2_000, logger }: RedisLiveStateOptions) {
    this.keyPrefix = keyPrefix;
    const redis = new Redis(url, {
      // Commands sent while (re)connecting wait in the offline queue instead of failing at once,
      // so a blip or start-up does not drop them; but once a reconnect attempt has failed the
      // queue is flushed with MaxRetriesPerRequestError, so callers see an outage within
      // ~100 ms instead of queuing forever (ioredis would otherwise retry 20 times, or forever
      // with null). commandTimeout covers the case no reconnect catches: a connection that is
      // up but silent. A timed-out command may still run later; for counters and rate limits
      // that errs towards counting an attempt, never towards losing a write silently.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      connectTimeout: 5_000,
    });
    if (logger) redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis live state connection error'));
    redis.defineCommand('consumeSlidingWindowLog', { numberOfKeys: 1, lua: CONSUME_SLIDING_WINDOW_LOG });
    redis.defineCommand('incrementWithTtlOnCreate', { numberOfKeys: 1, lua: INCREMENT_WITH_TTL_ON_CREATE });
    // defineCommand adds the methods at run time; this is their declared shape.
    this.redis = redis as Redis & LiveStateScripts;
  }

  async consumeRate(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    assertPositiveInteger('limit', limit);
    assertPositiveInteger('windowMs', windowMs);
    // The member only has to be unique within the key; the score carries the time.
    const [allowed, remaining, retryAfterMs] = await this.redis.consumeSlidingWindowLog(
      this.rateLogKey(key),
      limit,
      windowMs,
      randomUUID(),
    );
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    assertSafeInteger('by', by);
    assertPositiveInteger('ttlMs', ttlMs);
    try {
      return await this.redis.incrementWithTtlOnCreate(this.valueKey(key), by, ttlMs);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(NOT_AN_INTEGER_REPLY)) throw new NotACounterError(key);
      throw error;
    }
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.valueKey(key));
  }

  async getMany(keys: string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.redis.mget(keys.map((key) => this.valueKey(key)));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) {
      await this.redis.set(this.valueKey(key), value);
      return;
    }
    assertPositiveInteger('ttlMs', ttlMs);
    await this.redis.set(this.valueKey(key), value, 'PX', ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    assertPositiveInteger('ttlMs', ttlMs);
    return (await this.redis.set(this.valueKey(key), value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async setManyIfAbsent(keys: string[], value: string, ttlMs: number): Promise<boolean[]> {
    assertPositiveInteger('ttlMs', ttlMs);
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.set(this.valueKey(key), value, 'PX', ttlMs, 'NX');
    const replies = await pipeline.exec();
    if (!replies) throw new Error('redis pipeline was discarded');
    return replies.map(([error, reply]) => {
      if (error) throw error;
      return reply === 'OK';
    });
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.valueKey(key));
  }

  async setFields(key: string, fields: Record<string, string>, ttlMs: number): Promise<void> {
    assertPositiveInteger('ttlMs', ttlMs);
    if (Object.keys(fields).length === 0) {
      await this.redis.pexpire(this.hashKey(key), ttlMs);
      return;
    }
    const replies = await this.redis.multi().hset(this.hashKey(key), fields).pexpire(this.hashKey(key), ttlMs).exec();
    throwFirstError(replies);
  }

  async getAllFields(keys: string[]): Promise<Array<Record<string, string>>> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(this.hashKey(key));
    return throwFirstError(await pipeline.exec()) as Array<Record<string, string>>;
  }

  async markRecent(key: string, members: string[], atMs: number): Promise<void> {
    assertSafeInteger('atMs', atMs);
    if (members.length === 0) return;
    // GT: only ever moves a member forward in time, whatever order the writers arrive in.
    await this.redis.zadd(this.recencyKey(key), 'GT', ...members.flatMap((member) => [atMs, member]));
  }

  async recentMembers(key: string, sinceMs: number): Promise<string[]> {
    assertSafeInteger('sinceMs', sinceMs);
    const replies = await this.redis
      .multi()
      .zremrangebyscore(this.recencyKey(key), '-inf', `(${sinceMs}`)
      .zrevrange(this.recencyKey(key), 0, -1)
      .exec();
    return throwFirstError(replies)[1] as string[];
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    // QUIT lets replies in flight arrive; without a connection there is nothing to wait for.
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }

  // Values and rate-limit logs live in separate namespaces, so no key can be both.
  private valueKey(key: string): string {
    return `${this.keyPrefix}kv:${key}`;
  }

  private rateLogKey(key: string): string {
    return `${this.keyPrefix}rate:${key}`;
  }

  private hashKey(key: string): string {
    return `${this.keyPrefix}hash:${key}`;
  }

  private recencyKey(key: string): string {
    return `${this.keyPrefix}recent:${key}`;
  }
}
