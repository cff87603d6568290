/**
 * The bus port. Embedded: an in-process partitioned log on local disk (SQLite). Distributed: Apache Kafka.
 * Semantics both adapters honour (and the contract suite checks): per-key ordering within a
 * topic, at-least-once delivery to each consumer group, offsets committed only after the batch
 * handler resolved, and partitions shared among the members of one group.
 *
 * Quarantine (quarantine.ts, applied to every bus the platform hands out): one message that
 * fails deterministically never stalls its partition. A handler failure is transient when the
 * error says the dependency is away — connection refused/reset, timeouts, DNS, HTTP 408/429/502/
 * 503/504, ClickHouse's overload and network error types, the bus's own unavailability — or when
 * the subscription's `dependencyCheck` fails too; the batch is then redelivered as the adapter
 * always did, for as long as it takes, and nothing is quarantined. Any other failure is
 * deterministic: the batch is tried again a bounded number of times with backoff, then split in
 * halves down to the message that fails, which goes to `dead-letters` with the group, the
 * error, its topic/partition/offset, key, headers and original bytes; the rest of the batch is
 * handled in sub-batches whose first/last offsets stay deterministic. Manual-commit consumers
 * replay from their own checkpoints and are left as they are: they dead-letter bad input themselves.
 *
 * Compacted topics (`TopicSpec.compacted`) keep the latest record per key instead of a time or
 * size window, as a Kafka Streams changelog does; a tombstone deletes its key. Compaction is lazy
 * on Kafka (older records and tombstones linger until the cleaner runs) and immediate on the
 * embedded log, so whoever reads one (`readPartition`) takes the last record per key and treats
 * a tombstone as "absent". The messages one publish call sends to one partition are appended
 * together or not at all: one record batch on Kafka (compacted topics are created with a
 * `max.message.bytes` large enough for one), one SQLite transaction on the embedded log.
 */
export interface OutgoingMessage {
  /** Partitioning key: the same key always lands in the same partition, in order. */
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
  /**
   * The partition to append to, instead of the key's. For a topic partitioned like another one
   * (a changelog whose partition p holds the state of source partition p). Must be below the
   * topic's partition count.
   */
  partition?: number;
  /** Deletes the key on a compacted topic (Kafka: a null value). `value` must be empty. */
  tombstone?: boolean;
}

export interface DeliveredMessage {
  topic: string;
  partition: number;
  /** Offsets are decimal strings, as Kafka gives them (int64). */
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** Broker append time, epoch ms. */
  timestamp: number;
  /** A tombstone (a null value on Kafka): `value` is empty. */
  tombstone?: boolean;
}

/** One partition's slice of messages, in offset order. */
export interface MessageBatch {
  topic: string;
  partition: number;
  messages: DeliveredMessage[];
  /** First and last offsets: a deterministic idempotency token for sinks. */
  firstOffset: string;
  lastOffset: string;
  /**
   * The partition's end offset (the next offset to be written) when the batch was read, if the
   * adapter knows it: what was waiting after this batch is `endOffset - lastOffset - 1`. It may be
   * behind the log by the time the batch is handled, never ahead of it.
   */
  endOffset?: string;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /** Must resolve only when the batch's work is durable; a throw means redelivery of the batch. */
  handleBatch: (batch: MessageBatch) => Promise<void>;
  /** Where a group with no committed offset starts: 'earliest' (default) or 'latest'. */
  startFrom?: 'earliest' | 'latest';
  /** Batches being handled at once (bounded in-flight = backpressure). Default 1. */
  maxInFlightBatches?: number;
  /** Upper bound on messages per batch. Default 1000. */
  maxBatchMessages?: number;
  /**
   * When offsets are committed. 'after-batch' (default): once the batch's handler resolved.
   * 'manual': a resolved handler only moves the member's read position on; the consumer commits
   * with `Subscription.commit` when its own state is durable (a checkpoint every few seconds
   * instead of a write per batch). A failed batch, and any new owner of the partition, read
   * again from the last commit, so a handler must rebuild from its checkpoint.
   */
  commit?: 'after-batch' | 'manual';
  /**
   * Resolves when the dependency the handler writes to (ClickHouse, Snowflake, …) answers. Asked
   * after a failure the error alone does not mark as transient: if it rejects, the failure is
   * the dependency's, not the message's, and nothing is quarantined (see above).
   */
  dependencyCheck?: () => Promise<void>;
}

export interface Subscription {
  /** Stops fetching, waits for in-flight batches to finish and commit, and leaves the group. */
  stop(): Promise<void>;
  /** Resolves when the member has partitions assigned (or the group is settled). */
  ready(): Promise<void>;
  /** Partitions currently owned by this member, per topic. */
  assignedPartitions(): Record<string, number[]>;
  /**
   * Manual commit mode: commits `nextOffset` (the next offset to read) for a partition. Resolves
   * false, committing nothing, when this member no longer owns the partition: its new owner
   * starts from the last commit, and a late commit must not move that owner's position.
   */
  commit(topic: string, partition: number, nextOffset: string): Promise<boolean>;
  /**
   * Manual commit mode: the partition is read again from its last commit, from the next batch on
   * (what the bus does after a handler throws). For a consumer whose in-memory state was lost
   * outside a batch — a failed background checkpoint — when no further batch may come to throw.
   * Never throws: with the broker gone, the consumer's restart reads from the last commit anyway.
   */
  readAgain(topic: string, partition: number): void;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /**
   * Keeps the latest record per key (Kafka: cleanup.policy=compact), never cut by time or size
   * retention; tombstones delete keys. For changelogs: state that a reader rebuilds from the start.
   */
  compacted?: boolean;
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /**
   * Resolves once every message is durably appended: acks=all on Kafka; embedded, committed to
   * the log's SQLite file and fsynced (EMBEDDED_BUS_SYNC=full, the default). Concurrent calls
   * share producer batches within the linger window. Rejects with BusBackpressureError when
   * the in-flight buffer is full, and BusUnavailableError when the bus cannot be reached.
   */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Committed offset (next to read) of a group for each partition of a topic; -1 where none. */
  committedOffsets(groupId: string, topic: string): Promise<number[]>;
  /** Highest offset + 1 of each partition. */
  endOffsets(topic: string): Promise<number[]>;
  /**
   * Reads one partition from its first stored record up to its end offset at the time of the call
   * (records appended later are not read), in offset order, in batches; resolves after the last
   * batch's handler resolved. Outside any consumer group: nothing is committed. For restoring
   * state from a changelog (compacted topics keep earlier records of a key and tombstones on Kafka
   * until compacted: the reader takes the last record per key).
   */
  readPartition(
    topic: string,
    partition: number,
    onBatch: (messages: DeliveredMessage[]) => void | Promise<void>,
  ): Promise<void>;
  /**
   * The identity of the topic's log: the same for as long as the topic's offsets name the same
   * records, and different for a log whose offsets name other records even where they look alike.
   * Whatever keeps positions in a topic outside the bus (a processor's saved state) keeps this id
   * beside them and discards them when the topic's id has changed: the group's committed offsets,
   * kept by the bus with the log, are then gone too and the topic is read from its start.
   * - embedded: a random id created with the topic in the log's database; a new database (a new
   *   or deleted data directory) is a new log.
   * - Kafka: the cluster id and the topic's name. kafkajs 2.2 speaks Metadata up to v6, before
   *   Kafka's topic ids (v10), so a topic deleted and created again under the same name on the
   *   same cluster keeps its id here: reset the consumers' saved state when doing that (see
   *   docs/operations.md).
   */
  logId(topic: string): Promise<string>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class BusBackpressureError extends Error {
  constructor(
    readonly bufferedMessages: number,
    readonly limit: number,
  ) {
    super(`bus publish buffer is full (${bufferedMessages} of ${limit} messages in flight); retry later`);
    this.name = 'BusBackpressureError';
  }
}

/**
 * A bus that forwards every call to `bus` but those `overrides` replace: for wrappers (quarantine,
 * lag metric, a thread's subscription tracking). Every method is listed, not spread: a spread of
 * a class instance drops its prototype methods.
 */
export function forwardingBus(bus: Bus, overrides: Partial<Omit<Bus, 'kind'>>): Bus {
  return {
    kind: bus.kind,
    ensureTopics: (topics) => bus.ensureTopics(topics),
    publish: (topic, messages) => bus.publish(topic, messages),
    subscribe: (options) => bus.subscribe(options),
    committedOffsets: (groupId, topic) => bus.committedOffsets(groupId, topic),
    endOffsets: (topic) => bus.endOffsets(topic),
    readPartition: (topic, partition, onBatch) => bus.readPartition(topic, partition, onBatch),
    logId: (topic) => bus.logId(topic),
    ping: () => bus.ping(),
    close: () => bus.close(),
    ...overrides,
  };
}

/** A publish naming a partition the topic does not have. */
export class PartitionOutOfRangeError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitions: number,
  ) {
    super(`topic ${topic} has ${partitions} partitions; a message names partition ${partition}`);
    this.name = 'PartitionOutOfRangeError';
  }
}

/** The message that deletes `key` on a compacted topic. */
export function tombstoneMessage(key: string, partition?: number): OutgoingMessage {
  return partition === undefined
    ? { key, value: Buffer.alloc(0), tombstone: true }
    : { key, value: Buffer.alloc(0), tombstone: true, partition };
}

export class BusUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusUnavailableError';
  }
}
