import { setTimeout as sleep } from 'node:timers/promises';
import {
  BusBackpressureError,
  BusUnavailableError,
  PartitionOutOfRangeError,
  type Bus,
  type DeliveredMessage,
  type MessageBatch,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './bus.ts';
import { EmbeddedLogStore, type AppendRecord, type LogSynchronous, type StoredRecord } from './embedded-log-store.ts';
import { LingeringPublisher, type LingerTuning } from './lingering-publisher.ts';
import { partitionForKey } from './partitioner.ts';

/**
 * The embedded bus: a partitioned log with consumer groups and committed offsets, for one
 * machine. It keeps Kafka's semantics (per-key ordering, at-least-once, commit after the
 * handler, partitions shared within a group) so domain code runs unchanged on Kafka.
 *
 * Durable: the log and the committed offsets are kept in one SQLite database (WAL mode; see
 * embedded-log-store.ts), so a publish resolves only once its records are on local disk, and a
 * restart — after SIGKILL or a graceful stop — resumes every group from its last commit with
 * offsets going on where they were. Each topic has a random id created with it (`logId`).
 *
 * Storage is bounded: records every known group (one with a member, or that had one within
 * `groupRetentionMs`; commits are kept across restarts) has committed are deleted; a topic no
 * such group reads keeps only its newest `maxRetainedMessages` (like size retention); and a
 * publish that would push a lagging topic past the bound is refused with BusBackpressureError
 * rather than deleting anything a group has yet to read. Compacted topics are the exception:
 * they keep each key's latest record (compacted as they are appended to, see
 * embedded-log-store.ts) and nothing else bounds them, nor do they cause backpressure.
 */
export interface EmbeddedBusOptions {
  /** The SQLite file of the log; ':memory:' (default) keeps nothing across the process, for tests. */
  path?: string;
  /** When an append counts as written (default 'full': fsynced). See embedded-log-store.ts. */
  synchronous?: LogSynchronous;
  defaultPartitions: number;
  maxRetainedMessages: number;
  publish: LingerTuning;
  /**
   * How long a group with no member keeps holding the records it has not committed (default 1 h,
   * as Kafka expires an empty group's offsets). After that it no longer holds back retention or
   * causes backpressure, so a service stopped for good does not stall its topics; when it comes
   * back it reads from its commit, or from the oldest record kept if that was deleted meanwhile.
   */
  groupRetentionMs?: number;
  /** Delay before a failed batch is redelivered; doubles up to 5 s. */
  retryBackoffMs?: number;
  onHandlerError?: (error: unknown, batch: MessageBatch, groupId: string) => void;
  /** Wall clock, for group retention. */
  now?: () => number;
}

/** Records of one partition are deleted in chunks, so a busy partition does not pay a delete per commit. */
const RETENTION_CHUNK = 1024;

/** One partition's bounds (the records are in the store) and the members waiting for its next append. */
class PartitionLog {
  private waiters: Array<() => void> = [];

  constructor(
    private readonly store: EmbeddedLogStore,
    private readonly topic: string,
    private readonly partition: number,
    /** First offset still stored. */
    public startOffset: number,
    /** Next offset to append. */
    public endOffset: number,
  ) {}

  get size(): number {
    return this.endOffset - this.startOffset;
  }

  /** Called once the records up to `end` are stored. */
  appended(end: number): void {
    this.endOffset = end;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  read(from: number, max: number): StoredRecord[] {
    if (from >= this.endOffset) return [];
    return this.store.read(this.topic, this.partition, Math.max(from, this.startOffset), max);
  }

  /** Deletes records below `offset`. */
  truncateBefore(offset: number): void {
    const to = Math.min(offset, this.endOffset);
    if (to <= this.startOffset) return;
    this.store.deleteBefore(this.topic, this.partition, to);
    this.startOffset = to;
  }

  /** Resolves at the next append, or after `ms` (so stopping members notice promptly). */
  waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

interface Topic {
  topicId: string;
  compacted: boolean;
  partitions: PartitionLog[];
}

interface PartitionOwnership {
  owner: GroupMember | null;
  /** The running batch loop of the previous owner; a new owner waits for it to finish. */
  loop: Promise<void>;
}

class ConsumerGroup {
  readonly members: GroupMember[] = [];
  /** topic → next offset to read, per partition. */
  readonly committed = new Map<string, number[]>();
  readonly ownership = new Map<string, PartitionOwnership>();
  /** When a member last joined, left or committed (epoch ms). */
  lastActiveAt = -Infinity;

  constructor(readonly id: string) {}

  /** Whether the group's commits hold back retention: it has a member, or had one within `retentionMs`. */
  holdsRecords(now: number, retentionMs: number): boolean {
    return this.members.length > 0 || now - this.lastActiveAt < retentionMs;
  }

  committedFor(topic: string, partitions: number): number[] {
    let offsets = this.committed.get(topic);
    if (!offsets) {
      offsets = new Array<number>(partitions).fill(-1);
      this.committed.set(topic, offsets);
    }
    return offsets;
  }

  ownershipOf(topic: string, partition: number): PartitionOwnership {
    const id = `${topic}\u0000${partition}`;
    let entry = this.ownership.get(id);
    if (!entry) {
      entry = { owner: null, loop: Promise.resolve() };
      this.ownership.set(id, entry);
    }
    return entry;
  }
}

/** A bounded number of batches handled at once per member: the backpressure of consumption. */
class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private available: number) {}
  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }
}

class GroupMember implements Subscription {
  stopped = false;
  private assignment: Record<string, number[]> = {};
  private readonly semaphore: Semaphore;
  private readonly loops = new Set<Promise<void>>();
  /** Partitions (`topic\u0000partition`) to read again from their last commit. */
  private readonly rewinds = new Set<string>();

  constructor(
    private readonly bus: EmbeddedBus,
    readonly group: ConsumerGroup,
    readonly options: SubscribeOptions,
  ) {
    this.semaphore = new Semaphore(Math.max(1, options.maxInFlightBatches ?? 1));
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  assignedPartitions(): Record<string, number[]> {
    return structuredClone(this.assignment);
  }

  /** Called by the group on every rebalance. */
  assign(assignment: Record<string, number[]>): void {
    this.assignment = assignment;
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const ownership = this.group.ownershipOf(topic, partition);
        if (ownership.owner === this) continue;
        ownership.owner = this;
        const previous = ownership.loop;
        const loop = previous.then(() => this.consumePartition(topic, partition, ownership));
        ownership.loop = loop;
        this.loops.add(loop);
        void loop.finally(() => this.loops.delete(loop));
      }
    }
  }

  private ownsPartition(ownership: PartitionOwnership): boolean {
    return !this.stopped && ownership.owner === this;
  }

  private async consumePartition(topic: string, partition: number, ownership: PartitionOwnership): Promise<void> {
    const log = this.bus.partitionLog(topic, partition);
    const committed = this.group.committedFor(topic, this.bus.partitionCount(topic));
    if (committed[partition] === -1) {
      committed[partition] = this.options.startFrom === 'latest' ? log.endOffset : log.startOffset;
    }
    const maxBatch = this.options.maxBatchMessages ?? 1000;
    const manual = this.options.commit === 'manual';
    let backoff = this.bus.retryBackoffMs;
    // The read position; ahead of the commit only in manual mode.
    let position = committed[partition]!;

    while (this.ownsPartition(ownership)) {
      if (this.rewinds.delete(`${topic}\u0000${partition}`)) position = committed[partition]!;
      const records = log.read(position, maxBatch);
      if (records.length === 0) {
        await log.waitForData(100);
        continue;
      }
      const messages = delivered(topic, partition, records);
      const batch: MessageBatch = {
        topic,
        partition,
        messages,
        firstOffset: messages[0]!.offset,
        lastOffset: messages[messages.length - 1]!.offset,
        endOffset: String(log.endOffset),
      };
      await this.semaphore.acquire();
      try {
        await this.options.handleBatch(batch);
        position = records[records.length - 1]!.offset + 1;
        backoff = this.bus.retryBackoffMs;
        if (!manual) this.bus.commitOffset(this.group, topic, partition, position);
      } catch (error) {
        // At-least-once: read again from the last commit after a pause (in manual mode that
        // repeats the batches handled since, as a new owner would).
        position = committed[partition]!;
        this.bus.reportHandlerError(error, batch, this.group.id);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      } finally {
        this.semaphore.release();
      }
    }
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<boolean> {
    if (!this.ownsPartition(this.group.ownershipOf(topic, partition))) return false;
    this.bus.commitOffset(this.group, topic, partition, Number(nextOffset));
    return true;
  }

  readAgain(topic: string, partition: number): void {
    this.rewinds.add(`${topic}\u0000${partition}`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled([...this.loops]);
    this.bus.leave(this);
  }
}

export class EmbeddedBus implements Bus {
  readonly kind = 'embedded';
  private readonly store: EmbeddedLogStore;
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly publisher: LingeringPublisher;
  readonly retryBackoffMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: EmbeddedBusOptions) {
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.now = options.now ?? Date.now;
    this.store = new EmbeddedLogStore(options.path ?? ':memory:', options.synchronous ?? 'full');
    for (const stored of this.store.topics()) {
      this.topics.set(stored.name, {
        topicId: stored.topicId,
        compacted: stored.compacted,
        partitions: stored.partitions.map(
          ({ start, end }, p) => new PartitionLog(this.store, stored.name, p, start, end),
        ),
      });
    }
    // A group from the file counts as active from this start: it was away because the process
    // was, and its services subscribe one after another in the next moments.
    const openedAt = this.now();
    for (const { groupId, topic, partition, nextOffset } of this.store.committedOffsets()) {
      const group = this.group(groupId);
      group.committedFor(topic, this.partitionCount(topic))[partition] = nextOffset;
      group.lastActiveAt = openedAt;
    }
    this.publisher = new LingeringPublisher(async (batch) => this.append(batch), options.publish);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) this.topic(spec.name, spec.partitions, spec.compacted);
  }

  private topic(name: string, partitions = this.options.defaultPartitions, compacted = false): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      const stored = this.store.createTopic(name, partitions, compacted);
      topic = {
        topicId: stored.topicId,
        compacted,
        partitions: stored.partitions.map((_, p) => new PartitionLog(this.store, name, p, 0, 0)),
      };
      this.topics.set(name, topic);
    }
    return topic;
  }

  private group(groupId: string): ConsumerGroup {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new ConsumerGroup(groupId);
      this.groups.set(groupId, group);
    }
    return group;
  }

  partitionCount(topic: string): number {
    return this.topic(topic).partitions.length;
  }

  partitionLog(topic: string, partition: number): PartitionLog {
    return this.topic(topic).partitions[partition]!;
  }

  /** The topic's random id, created with it in this log's database. */
  async logId(topic: string): Promise<string> {
    return `embedded:${this.topic(topic).topicId}`;
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    const t = this.topic(topic);
    for (const m of messages) {
      if (
        m.partition !== undefined &&
        !(Number.isInteger(m.partition) && m.partition >= 0 && m.partition < t.partitions.length)
      ) {
        return Promise.reject(new PartitionOutOfRangeError(topic, m.partition, t.partitions.length));
      }
    }
    // A compacted topic holds one record per key, however far its readers are behind.
    if (t.compacted) return this.publisher.publish(topic, messages);
    const retained = this.retainedMessages(topic);
    if (
      retained + this.publisher.buffered + messages.length > this.options.maxRetainedMessages &&
      this.hasReaders(topic)
    ) {
      return Promise.reject(
        new BusBackpressureError(retained + this.publisher.buffered, this.options.maxRetainedMessages),
      );
    }
    return this.publisher.publish(topic, messages);
  }

  /** One transaction for the whole linger batch: its publishes resolve once it is stored. */
  private append(batch: Array<{ topic: string; messages: OutgoingMessage[] }>): void {
    const timestamp = Date.now();
    const ends = new Map<PartitionLog, number>();
    const records = batch.map(({ topic, messages }) => {
      const t = this.topic(topic);
      const appended: AppendRecord[] = messages.map((m) => {
        const partition = m.partition ?? partitionForKey(m.key, t.partitions.length);
        const log = t.partitions[partition]!;
        const offset = ends.get(log) ?? log.endOffset;
        ends.set(log, offset + 1);
        const record: AppendRecord = {
          partition,
          offset,
          key: m.key,
          value: m.value,
          headers: m.headers ?? {},
          timestamp,
        };
        if (m.tombstone) record.tombstone = true;
        return record;
      });
      return { topic, records: appended };
    });
    try {
      this.store.append(records);
    } catch (error) {
      throw new BusUnavailableError(`the embedded bus could not write its log ${this.store.path}: ${String(error)}`, {
        cause: error,
      });
    }
    for (const [log, end] of ends) log.appended(end);
    for (const { topic } of batch)
      if (!this.topic(topic).compacted && !this.hasReaders(topic)) this.applySizeRetention(this.topic(topic));
  }

  private retainedMessages(topic: string): number {
    return this.topic(topic).partitions.reduce((n, p) => n + p.size, 0);
  }

  /** Groups whose commits on the topic hold back its retention. */
  private readers(topic: string): ConsumerGroup[] {
    const now = this.now();
    const retentionMs = this.options.groupRetentionMs ?? 3_600_000;
    return [...this.groups.values()].filter(
      (group) => group.committed.has(topic) && group.holdsRecords(now, retentionMs),
    );
  }

  private hasReaders(topic: string): boolean {
    return this.readers(topic).length > 0;
  }

  private applySizeRetention(topic: Topic): void {
    const perPartition = Math.ceil(this.options.maxRetainedMessages / topic.partitions.length);
    for (const log of topic.partitions) {
      if (log.size >= perPartition + RETENTION_CHUNK) log.truncateBefore(log.endOffset - perPartition);
    }
  }

  /** Stores a group's commit, then deletes what every group reading the topic has committed. */
  commitOffset(group: ConsumerGroup, topic: string, partition: number, nextOffset: number): void {
    group.lastActiveAt = this.now();
    this.store.commitOffset(group.id, topic, partition, nextOffset, group.lastActiveAt);
    group.committedFor(topic, this.partitionCount(topic))[partition] = nextOffset;
    this.releaseCommitted(topic);
  }

  private releaseCommitted(topic: string): void {
    const t = this.topic(topic);
    if (t.compacted) return;
    const readers = this.readers(topic);
    t.partitions.forEach((log, partition) => {
      let lowest = Infinity;
      for (const group of readers) {
        const offset = group.committed.get(topic)![partition]!;
        lowest = Math.min(lowest, offset === -1 ? log.startOffset : offset);
      }
      if (Number.isFinite(lowest) && lowest - log.startOffset >= RETENTION_CHUNK) log.truncateBefore(lowest);
    });
  }

  reportHandlerError(error: unknown, batch: MessageBatch, groupId: string): void {
    this.options.onHandlerError?.(error, batch, groupId);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    const group = this.group(options.groupId);
    group.lastActiveAt = this.now();
    for (const topic of options.topics) group.committedFor(topic, this.partitionCount(topic));
    const member = new GroupMember(this, group, options);
    group.members.push(member);
    this.rebalance(group);
    return member;
  }

  leave(member: GroupMember): void {
    const group = member.group;
    const index = group.members.indexOf(member);
    if (index !== -1) group.members.splice(index, 1);
    group.lastActiveAt = this.now();
    for (const ownership of group.ownership.values()) if (ownership.owner === member) ownership.owner = null;
    this.rebalance(group);
  }

  /** Range assignment per topic over members in join order, like Kafka's default assignor. */
  private rebalance(group: ConsumerGroup): void {
    const assignments = new Map<GroupMember, Record<string, number[]>>(group.members.map((m) => [m, {}]));
    const topics = new Set(group.members.flatMap((m) => m.options.topics));
    for (const topic of topics) {
      const readers = group.members.filter((m) => m.options.topics.includes(topic));
      const partitions = this.partitionCount(topic);
      readers.forEach((member, i) => {
        const share: number[] = [];
        for (let p = i; p < partitions; p += readers.length) share.push(p);
        assignments.get(member)![topic] = share;
      });
    }
    for (const [member, assignment] of assignments) member.assign(assignment);
  }

  async committedOffsets(groupId: string, topic: string): Promise<number[]> {
    const offsets = this.groups.get(groupId)?.committed.get(topic);
    return offsets ? [...offsets] : new Array<number>(this.partitionCount(topic)).fill(-1);
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.topic(topic).partitions.map((p) => p.endOffset);
  }

  async readPartition(
    topic: string,
    partition: number,
    onBatch: (messages: DeliveredMessage[]) => void | Promise<void>,
  ): Promise<void> {
    const t = this.topic(topic);
    if (!(Number.isInteger(partition) && partition >= 0 && partition < t.partitions.length))
      throw new PartitionOutOfRangeError(topic, partition, t.partitions.length);
    const log = t.partitions[partition]!;
    const end = log.endOffset;
    let position = log.startOffset;
    while (position < end && !this.closed) {
      const records = log.read(position, 1000).filter((r) => r.offset < end);
      if (records.length === 0) return;
      await onBatch(delivered(topic, partition, records));
      position = records[records.length - 1]!.offset + 1;
    }
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.publisher.drain();
    this.closed = true;
    const members = [...this.groups.values()].flatMap((g) => g.members);
    await Promise.all(members.map((m) => m.stop()));
    this.store.close();
  }
}

function delivered(topic: string, partition: number, records: StoredRecord[]): DeliveredMessage[] {
  return records.map((r) => {
    const message: DeliveredMessage = {
      topic,
      partition,
      offset: String(r.offset),
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
    };
    if (r.tombstone) message.tombstone = true;
    return message;
  });
}
