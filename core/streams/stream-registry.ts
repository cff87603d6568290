import { randomUUID } from 'node:crypto';
import type { AnalyticsStore } from '../analytics-store/analytics-store.ts';
import { insertRows } from '../analytics-store/insert.ts';
import type { LiveState } from '../live-state/live-state.ts';
import { createValidator } from '../schemas/validate.ts';
import { decideRegistration, StreamOwner, type OwnershipClaim, type Refusal } from './stream-ownership.ts';

/**
 * The stream registry: `stream_owners` in the analytics store (migration 0057) is the record,
 * the live-state port (memory embedded, Redis distributed) a cache in front of it, so the live
 * board's once-a-second overview does not query ClickHouse. Writes go to ClickHouse first, then
 * the cache, so a cached owner is always one the record holds.
 *
 * First registration wins across instances: before writing a new stream's first owner, a
 * registration takes a claim on it in live state (SET NX); a concurrent registration for another
 * creator finds the claim and is refused as if the row were there.
 */
export const STREAM_REGISTRY_KEYS = {
  owner: (streamId: string) => `stream-registry:owner:${streamId}`,
  claim: (streamId: string) => `stream-registry:claim:${streamId}`,
} as const;

/** How long a known owner is cached; writes replace it at once, so this bounds only memory. */
const OWNER_CACHE_MS = 3_600_000;
/** How long "not registered" is cached: short, so a registration on another node shows quickly. */
const UNREGISTERED_CACHE_MS = 5_000;
/** A claim outlives the ClickHouse write it guards by far; afterwards the row decides. */
const CLAIM_MS = 10 * 60_000;
const UNREGISTERED = 'unregistered';

const ownerValidator = createValidator(StreamOwner);

/** A registration the rules refused (403, 404 or 409, see decideRegistration). */
export class StreamRegistrationError extends Error {
  readonly statusCode: Refusal['statusCode'];
  readonly code: string;
  constructor(refusal: Refusal) {
    super(refusal.message);
    this.name = 'StreamRegistrationError';
    this.statusCode = refusal.statusCode;
    this.code = refusal.code;
  }
}

/** A row or cache entry that is not a StreamOwner: a damaged cache or a schema drift, never input. */
export class StreamOwnerRecordError extends Error {
  constructor(where: string, problems: string) {
    super(`stream owner record from ${where} is invalid: ${problems}`);
    this.name = 'StreamOwnerRecordError';
  }
}

function checkedOwner(value: unknown, where: string): StreamOwner {
  if (ownerValidator.check(value)) return value;
  throw new StreamOwnerRecordError(
    where,
    ownerValidator
      .errors(value, 3)
      .map((e) => `${e.path} ${e.message}`)
      .join('; '),
  );
}

const clickHouseTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export interface RegistrationOutcome {
  owner: StreamOwner;
  /** True when this call wrote a new owner (201), false when the stream was already so (200). */
  created: boolean;
  reassigned: boolean;
}

/** What the read paths need: the owners of some streams (unregistered ones are absent). */
export interface StreamOwnerLookup {
  ownersOf(streamIds: string[]): Promise<Map<string, StreamOwner>>;
}

export class StreamRegistry implements StreamOwnerLookup {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly liveState: LiveState,
    private readonly now: () => number = Date.now,
  ) {}

  async ownerOf(streamId: string): Promise<StreamOwner | null> {
    return (await this.ownersOf([streamId])).get(streamId) ?? null;
  }

  /** Owners from the cache; the misses in one query, then cached (as owners, or as unregistered). */
  async ownersOf(streamIds: string[]): Promise<Map<string, StreamOwner>> {
    const ids = [...new Set(streamIds)];
    const owners = new Map<string, StreamOwner>();
    const cached = await this.liveState.getMany(ids.map(STREAM_REGISTRY_KEYS.owner));
    const misses: string[] = [];
    ids.forEach((id, index) => {
      const entry = cached[index];
      if (entry === null || entry === undefined) misses.push(id);
      else if (entry !== UNREGISTERED)
        owners.set(id, checkedOwner(JSON.parse(entry), `live state ${STREAM_REGISTRY_KEYS.owner(id)}`));
    });
    if (misses.length === 0) return owners;
    const recorded = await this.readRecords(misses);
    await Promise.all(misses.map((id) => this.cache(id, recorded.get(id) ?? null)));
    for (const [id, owner] of recorded) owners.set(id, owner);
    return owners;
  }

  /** Streams registered to a creator, by stream id. */
  async streamsOf(creatorId: string): Promise<StreamOwner[]> {
    return this.select(`creator_id = {creator:String}`, { creator: creatorId });
  }

  /** Applies a claim by the rules of decideRegistration; throws StreamRegistrationError when they refuse it. */
  async register(claim: OwnershipClaim): Promise<RegistrationOutcome> {
    const current = (await this.readRecords([claim.streamId])).get(claim.streamId) ?? null;
    let decision = decideRegistration(current, claim);
    if (decision.kind === 'write' && current === null && claim.source === 'api') {
      decision = await this.decideUnderClaim(claim, decision);
    }
    if (decision.kind === 'refused') throw new StreamRegistrationError(decision);
    if (decision.kind === 'unchanged') {
      await this.cache(claim.streamId, decision.owner);
      return { owner: decision.owner, created: false, reassigned: false };
    }
    const at = this.now();
    // The API's schemas check ids on the way in; IVS tags and other callers are checked here, before anything is written.
    const owner = checkedOwner({ ...decision.owner, registered_at: at }, `registration of stream ${claim.streamId}`);
    await insertRows(this.store, {
      table: 'stream_owners',
      rows: [{ ...owner, registered_at: clickHouseTime(at), version: at }],
      dedupToken: `stream-owner-${randomUUID()}`,
    });
    await this.cache(owner.stream_id, owner);
    return { owner, created: true, reassigned: decision.reassigned };
  }

  /**
   * A stream's first registration, made atomic across instances: the first claim in live state
   * wins; a later one for another creator is refused like a registered stream, for the same
   * creator it goes on (a retry after a failed write).
   */
  private async decideUnderClaim(
    claim: Extract<OwnershipClaim, { source: 'api' }>,
    decision: ReturnType<typeof decideRegistration>,
  ) {
    const key = STREAM_REGISTRY_KEYS.claim(claim.streamId);
    if (await this.liveState.setIfAbsent(key, claim.creatorId, CLAIM_MS)) return decision;
    const claimedBy = await this.liveState.get(key);
    if (claimedBy === null || claimedBy === claim.creatorId) return decision;
    return decideRegistration(
      {
        stream_id: claim.streamId,
        creator_id: claimedBy,
        source: 'api',
        channel_arn: '',
        registered_by: '',
        registered_at: this.now(),
      },
      claim,
    );
  }

  private cache(streamId: string, owner: StreamOwner | null): Promise<void> {
    const key = STREAM_REGISTRY_KEYS.owner(streamId);
    return owner
      ? this.liveState.set(key, JSON.stringify(owner), OWNER_CACHE_MS)
      : this.liveState.set(key, UNREGISTERED, UNREGISTERED_CACHE_MS);
  }

  private async readRecords(streamIds: string[]): Promise<Map<string, StreamOwner>> {
    const rows = await this.select('stream_id IN {streams:Array(String)}', { streams: streamIds });
    return new Map(rows.map((row) => [row.stream_id, row]));
  }

  /** `where` is fixed SQL over bound parameters. */
  private async select(where: string, params: Record<string, unknown>): Promise<StreamOwner[]> {
    const result = await this.store.client.query({
      query: `SELECT stream_id, creator_id, toString(source) AS source, channel_arn, registered_by, toUnixTimestamp64Milli(registered_at) AS registered_at
              FROM stream_owners FINAL WHERE ${where} ORDER BY stream_id`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const rows = await result.json<Record<string, unknown>>();
    return rows.map((row) => checkedOwner({ ...row, registered_at: Number(row.registered_at) }, 'stream_owners'));
  }
}
