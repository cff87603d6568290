import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ChannelSettings } from '../../moderation/channel-settings.ts';
import type { ChannelTerm } from '../../moderation/term-rules.ts';
import type { ChatMessageView } from '../protocol.ts';
import {
  activeSanction,
  HELD_RETENTION_MS,
  type ChatStore,
  type HeldMessage,
  type HistoryRemoval,
  type Sanction,
} from './chat-store.ts';

/**
 * The distributed chat store: Redis, shared by every gateway node and durable across restarts
 * (with Redis persistence on). Keys of one stream share a hash tag, `{streamId}`, so the
 * multi-key scripts work on Redis Cluster too.
 *
 *   …:{s}:history    list of message JSON, newest first, trimmed
 *   …:{s}:sanctions  hash user id → sanction JSON
 *   …:{s}:staff      set of user ids granted moderator
 *   …:{s}:settings   hash { v: version, doc: settings JSON }
 *   …:{s}:terms      hash term id → term JSON
 *   …:{s}:held       sorted set of held message ids by deadline; …:{s}:held:<id> the message, with a TTL
 */

/** KEYS[1] history; ARGV: field name ("id" or "userId"), value. Returns the removed ids. */
const REMOVE_FROM_HISTORY = `
local removed = {}
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local message = cjson.decode(item)
  if message[ARGV[1]] == ARGV[2] then
    redis.call('LREM', KEYS[1], 1, item)
    table.insert(removed, message.id)
  end
end
return removed
`;

/** KEYS[1] held message, KEYS[2] held index; ARGV[1] message id. Returns the message or nil, once. */
const TAKE_HELD = `
local value = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return value
`;

/** KEYS[1] settings hash; ARGV: expected version ("0" when absent), new document. 1 if written. */
const COMPARE_AND_SET_SETTINGS = `
local current = redis.call('HGET', KEYS[1], 'v') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(current) + 1), 'doc', ARGV[2])
return 1
`;

/** KEYS[1] terms hash; ARGV: id, term JSON, limit. 1 if stored (a replacement always fits). */
const PUT_TERM_WITHIN_LIMIT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

/** KEYS[1] sanctions hash; ARGV: user id, the value read. Deletes only if nobody replaced it since. */
const DELETE_SANCTION_IF_UNCHANGED = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

interface ChatStoreScripts {
  removeFromHistory(list: string, field: string, value: string): Promise<string[]>;
  takeHeld(item: string, index: string, id: string): Promise<string | null>;
  compareAndSetSettings(key: string, expectedVersion: string, doc: string): Promise<number>;
  putTermWithinLimit(key: string, id: string, term: string, limit: number): Promise<number>;
  deleteSanctionIfUnchanged(key: string, userId: string, expected: string): Promise<number>;
}

export class SettingsContentionError extends Error {
  constructor(
    readonly streamId: string,
    attempts: number,
  ) {
    super(`settings of stream ${streamId} changed concurrently ${attempts} times in a row; try again`);
    this.name = 'SettingsContentionError';
  }
}

const SETTINGS_ATTEMPTS = 8;

export interface RedisChatStoreOptions {
  url: string;
  keyPrefix?: string;
  commandTimeoutMs?: number;
  logger?: Pick<Logger, 'warn'>;
}

export class RedisChatStore implements ChatStore {
  readonly kind = 'redis';
  private readonly redis: Redis & ChatStoreScripts;
  private readonly prefix: string;

  constructor({ url, keyPrefix = 'livepulse:chat:', commandTimeoutMs = 2_000, logger }: RedisChatStoreOptions) {
    this.prefix = keyPrefix;
    // As in RedisLiveState: queue briefly while (re)connecting, then fail fast instead of hanging.
    const redis = new Redis(url, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      connectTimeout: 5_000,
    });
    if (logger) redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis chat store connection error'));
    redis.defineCommand('removeFromHistory', { numberOfKeys: 1, lua: REMOVE_FROM_HISTORY });
    redis.defineCommand('takeHeld', { numberOfKeys: 2, lua: TAKE_HELD });
    redis.defineCommand('compareAndSetSettings', { numberOfKeys: 1, lua: COMPARE_AND_SET_SETTINGS });
    redis.defineCommand('putTermWithinLimit', { numberOfKeys: 1, lua: PUT_TERM_WITHIN_LIMIT });
    redis.defineCommand('deleteSanctionIfUnchanged', { numberOfKeys: 1, lua: DELETE_SANCTION_IF_UNCHANGED });
    // defineCommand adds the methods at run time; this is their declared shape.
    this.redis = redis as Redis & ChatStoreScripts;
  }

  private key(streamId: string, suffix: string): string {
    return `${this.prefix}{${streamId}}:${suffix}`;
  }

  async appendHistory(streamId: string, message: ChatMessageView, keep: number): Promise<void> {
    const key = this.key(streamId, 'history');
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(message))
      .ltrim(key, 0, Math.max(0, keep - 1))
      .exec();
  }

  async recentHistory(streamId: string, limit: number): Promise<ChatMessageView[]> {
    if (limit <= 0) return [];
    const items = await this.redis.lrange(this.key(streamId, 'history'), 0, limit - 1);
    return items.map((item) => JSON.parse(item) as ChatMessageView).reverse();
  }

  async removeFromHistory(streamId: string, which: HistoryRemoval): Promise<string[]> {
    const [field, value] = 'messageId' in which ? ['id', which.messageId] : ['userId', which.userId];
    return this.redis.removeFromHistory(this.key(streamId, 'history'), field, value);
  }

  async putSanction(streamId: string, sanction: Sanction): Promise<void> {
    await this.redis.hset(this.key(streamId, 'sanctions'), sanction.user_id, JSON.stringify(sanction));
  }

  async getSanction(streamId: string, userId: string, now: number): Promise<Sanction | null> {
    const raw = await this.redis.hget(this.key(streamId, 'sanctions'), userId);
    const sanction = raw ? (JSON.parse(raw) as Sanction) : null;
    const active = activeSanction(sanction, now);
    // An expired timeout is tidied lazily, and only if nobody stored a new sanction meanwhile.
    if (sanction && !active) await this.redis.deleteSanctionIfUnchanged(this.key(streamId, 'sanctions'), userId, raw!);
    return active;
  }

  async deleteSanction(streamId: string, userId: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(streamId, 'sanctions'), userId)) > 0;
  }

  async listSanctions(streamId: string, now: number): Promise<Sanction[]> {
    const all = await this.redis.hgetall(this.key(streamId, 'sanctions'));
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as Sanction)
      .filter((s) => activeSanction(s, now));
  }

  async grantStaff(streamId: string, userId: string): Promise<void> {
    await this.redis.sadd(this.key(streamId, 'staff'), userId);
  }

  async revokeStaff(streamId: string, userId: string): Promise<boolean> {
    return (await this.redis.srem(this.key(streamId, 'staff'), userId)) > 0;
  }

  async isStaff(streamId: string, userId: string): Promise<boolean> {
    return (await this.redis.sismember(this.key(streamId, 'staff'), userId)) === 1;
  }

  async listStaff(streamId: string): Promise<string[]> {
    return (await this.redis.smembers(this.key(streamId, 'staff'))).sort();
  }

  async getSettings(streamId: string): Promise<ChannelSettings | null> {
    const doc = await this.redis.hget(this.key(streamId, 'settings'), 'doc');
    return doc ? (JSON.parse(doc) as ChannelSettings) : null;
  }

  async updateSettings(
    streamId: string,
    initial: ChannelSettings,
    change: (current: ChannelSettings) => ChannelSettings,
  ): Promise<ChannelSettings> {
    const key = this.key(streamId, 'settings');
    for (let attempt = 0; attempt < SETTINGS_ATTEMPTS; attempt++) {
      const [version, doc] = await this.redis.hmget(key, 'v', 'doc');
      const next = change(doc ? (JSON.parse(doc) as ChannelSettings) : initial);
      if ((await this.redis.compareAndSetSettings(key, version ?? '0', JSON.stringify(next))) === 1) return next;
    }
    throw new SettingsContentionError(streamId, SETTINGS_ATTEMPTS);
  }

  async listTerms(streamId: string): Promise<ChannelTerm[]> {
    const all = await this.redis.hgetall(this.key(streamId, 'terms'));
    return Object.values(all).map((raw) => JSON.parse(raw) as ChannelTerm);
  }

  async putTerm(streamId: string, term: ChannelTerm, limit: number): Promise<boolean> {
    return (
      (await this.redis.putTermWithinLimit(this.key(streamId, 'terms'), term.id, JSON.stringify(term), limit)) === 1
    );
  }

  async deleteTerm(streamId: string, termId: string): Promise<ChannelTerm | null> {
    const key = this.key(streamId, 'terms');
    const [[, raw], [, deleted]] = (await this.redis.multi().hget(key, termId).hdel(key, termId).exec()) as [
      [null, string | null],
      [null, number],
    ];
    return deleted > 0 && raw ? (JSON.parse(raw) as ChannelTerm) : null;
  }

  async putHeld(streamId: string, held: HeldMessage): Promise<void> {
    const ttlMs = held.expiresAt + HELD_RETENTION_MS - Date.now();
    if (ttlMs <= 0) return;
    await this.redis
      .multi()
      .set(this.key(streamId, `held:${held.message.id}`), JSON.stringify(held), 'PX', ttlMs)
      .zadd(this.key(streamId, 'held'), held.expiresAt, held.message.id)
      .exec();
  }

  async takeHeld(streamId: string, messageId: string): Promise<HeldMessage | null> {
    const raw = await this.redis.takeHeld(
      this.key(streamId, `held:${messageId}`),
      this.key(streamId, 'held'),
      messageId,
    );
    return raw ? (JSON.parse(raw) as HeldMessage) : null;
  }

  async listHeld(streamId: string, now: number): Promise<HeldMessage[]> {
    const index = this.key(streamId, 'held');
    await this.redis.zremrangebyscore(index, '-inf', now - HELD_RETENTION_MS);
    const ids = await this.redis.zrangebyscore(index, `(${now}`, '+inf');
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key(streamId, `held:${id}`)));
    return raws
      .filter((raw): raw is string => raw !== null)
      .map((raw) => JSON.parse(raw) as HeldMessage)
      .sort((a, b) => a.heldAt - b.heldAt);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
