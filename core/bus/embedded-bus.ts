import {
  BusBackpressureError,
  type Bus,
  type DeliveredMessage,
  type MessageBatch,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './bus.ts';
import { LingeringPublisher, type LingerTuning } from './lingering-publisher.ts';
import { partitionForKey } from './partitioner.ts';

/**
 * The embedded bus: an in-process partitioned log with consumer groups and committed offsets,
 * for one machine. It keeps Kafka's semantics (per-key ordering, at-least-once, commit after
 * the handler, partitions shared within a group) so domain code runs unchanged on Kafka.
 *
 * Memory is bounded: records every known group has committed are dropped; a topic no group
 * reads keeps only its newest `maxRetainedMessages` (like size retention); and a publish that
 * would push a lagging topic past the bound is refused with BusBackpressureError rather than
 * dropping anything a group has yet to read. Nothing survives the process: use Kafka for that.
 */
export interface EmbeddedBusOptions {
  defaultPartitions: number;
  maxRetainedMessages: number;
  publish: LingerTuning;
  /** Delay before a failed batch is redelivered; doubles up to 5 s. */
  retryBackoffMs?: number;
  onHandlerError?: (error: unknown, batch: MessageBatch, groupId: string) => void;
}

interface StoredRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

class PartitionLog {
  /** Offset of records[0]. */
  private base = 0;
  private records: StoredRecord[] = [];
  private waiters: Array<() => void> = [];

  get endOffset(): number {
    return this.base + this.records.length;
  }
  get startOffset(): number {
    return this.base;
  }
  get size(): number {
    return this.records.length;
  }

  append(record: StoredRecord): void {
    this.records.push(record);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  read(from: number, max: number): Array<StoredRecord & { offset: number }> {
    const start = Math.max(from, this.base) - this.base;
    // Object.assign rather than `{...r, offset}`, a literal V8 builds slowly.
    return this.records.slice(start, start + max).map((r, i) => Object.assign({}, r, { offset: this.base + start + i }));
  }

  /** Drops records below `offset`. */
  truncateBefore(offset: number): void {
    const drop = Math.min(offset, this.endOffset) - this.base;
    if (drop <= 0) return;
    // Splicing in chunks keeps this O(n) amortised without copying on every commit.
    this.records = this.records.slice(drop);
    this.base += drop;
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

  constructor(readonly id: string) {}

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
      const messages: DeliveredMessage[] = records.map((r) => ({
        topic,
        partition,
        offset: String(r.offset),
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
      }));
      const batch: MessageBatch = {
        topic,
        partition,
        messages,
        firstOffset: messages[0]!.offset,
        lastOffset: messages[messages.length - 1]!.offset,
      };
      await this.semaphore.acquire();
      try {
        await this.options.handleBatch(batch);
        position = records[records.length - 1]!.offset + 1;
        backoff = this.bus.retryBackoffMs;
        if (!manual) {
          committed[partition] = position;
          this.bus.releaseCommitted(topic);
        }
      } catch (error) {
        // At-least-once: read again from the last commit after a pause (in manual mode that
        // repeats the batches handled since, as a new owner would).
        position = committed[partition]!;
        this.bus.reportHandlerError(error, batch, this.group.id);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      } finally {
        this.semaphore.release();
      }
    }
  }

  commit(topic: string, partition: number, nextOffset: string): Promise<boolean> {
    if (!this.ownsPartition(this.group.ownershipOf(topic, partition))) return Promise.resolve(false);
    this.group.committedFor(topic, this.bus.partitionCount(topic))[partition] = Number(nextOffset);
    this.bus.releaseCommitted(topic);
    return Promise.resolve(true);
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
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly publisher: LingeringPublisher;
  readonly retryBackoffMs: number;
  private closed = false;

  constructor(private readonly options: EmbeddedBusOptions) {
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.publisher = new LingeringPublisher(async (batch) => {
      for (const { topic, messages } of batch) this.append(topic, messages);
    }, options.publish);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) this.topic(spec.name, spec.partitions);
  }

  private topic(name: string, partitions = this.options.defaultPartitions): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { partitions: Array.from({ length: partitions }, () => new PartitionLog()) };
      this.topics.set(name, topic);
    }
    return topic;
  }

  partitionCount(topic: string): number {
    return this.topic(topic).partitions.length;
  }

  partitionLog(topic: string, partition: number): PartitionLog {
    return this.topic(topic).partitions[partition]!;
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    const retained = this.retainedMessages(topic);
    if (retained + this.publisher.buffered + messages.length > this.options.maxRetainedMessages && this.hasReaders(topic)) {
      return Promise.reject(new BusBackpressureError(retained + this.publisher.buffered, this.options.maxRetainedMessages));
    }
    return this.publisher.publish(topic, messages);
  }

  private append(topic: string, messages: OutgoingMessage[]): void {
    const t = this.topic(topic);
    const timestamp = Date.now();
    for (const m of messages) {
      const partition = partitionForKey(m.key, t.partitions.length);
      t.partitions[partition]!.append({ key: m.key, value: m.value, headers: m.headers ?? {}, timestamp });
    }
    if (!this.hasReaders(topic)) this.applySizeRetention(t);
  }

  private retainedMessages(topic: string): number {
    return this.topic(topic).partitions.reduce((n, p) => n + p.size, 0);
  }

  private hasReaders(topic: string): boolean {
    for (const group of this.groups.values()) if (group.committed.has(topic)) return true;
    return false;
  }

  private applySizeRetention(topic: Topic): void {
    const perPartition = Math.ceil(this.options.maxRetainedMessages / topic.partitions.length);
    for (const log of topic.partitions) {
      if (log.size > perPartition) log.truncateBefore(log.endOffset - perPartition);
    }
  }

  /** Drops records that every group reading the topic has committed. */
  releaseCommitted(topic: string): void {
    const t = this.topic(topic);
    t.partitions.forEach((log, partition) => {
      let lowest = Infinity;
      for (const group of this.groups.values()) {
        const offsets = group.committed.get(topic);
        if (offsets) lowest = Math.min(lowest, offsets[partition] === -1 ? log.startOffset : offsets[partition]!);
      }
      // Truncate in chunks so a busy partition does not copy its array on every commit.
      if (Number.isFinite(lowest) && lowest - log.startOffset >= 1024) log.truncateBefore(lowest);
    });
  }

  reportHandlerError(error: unknown, batch: MessageBatch, groupId: string): void {
    this.options.onHandlerError?.(error, batch, groupId);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    let group = this.groups.get(options.groupId);
    if (!group) {
      group = new ConsumerGroup(options.groupId);
      this.groups.set(options.groupId, group);
    }
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

  async ping(): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.publisher.drain();
    this.closed = true;
    const members = [...this.groups.values()].flatMap((g) => g.members);
    await Promise.all(members.map((m) => m.stop()));
  }
}
