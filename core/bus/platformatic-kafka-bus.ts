import { setTimeout as sleep } from 'node:timers/promises';
import {
  Admin,
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  IS_CONTROL,
  ListOffsetTimestamps,
  Producer,
  findErrorBy,
  kGetConnection,
  offsetCommitV8,
  stringSerializer,
  type Broker,
  type Callback,
  type Connection,
  type ConsumerGroupJoinPayload,
  type ProducerOptions,
  type RecordsBatch,
  type SASLOptions,
} from '@platformatic/kafka';
import {
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
import { compactedTopicConfig, type KafkaBusOptions } from './kafka-bus.ts';
import { ProducerLanes } from './producer-lanes.ts';
import { adoptUnprefixedCommits } from './unprefixed-commits.ts';
import { murmur2 } from './partitioner.ts';

export type PlatformaticKafkaBusOptions = Omit<KafkaBusOptions, 'socketFactory'> & {
  /**
   * Where producers connect for a broker the cluster advertises (default: the advertised address),
   * e.g. through a proxy; kafkajs's socketFactory does this for the other adapter.
   */
  brokerRoute?: (advertised: Broker) => Broker;
};

type BusProducer = Producer<string, Buffer, string, string>;
type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

/** A producer whose connections to brokers go where `route` says. */
class RoutedProducer extends Producer<string, Buffer, string, string> {
  constructor(
    options: ProducerOptions<string, Buffer, string, string>,
    private readonly route: (advertised: Broker) => Broker,
  ) {
    super(options);
  }

  override [kGetConnection](broker: Broker, callback: Callback<Connection>): void {
    super[kGetConnection](this.route(broker), callback);
  }
}

/**
 * Kafka's key placement (Java's and kafkajs's DefaultPartitioner, the embedded log's): murmur2 of
 * the key bytes with the sign bit cleared; the client takes it modulo the partition count. The
 * library's own defaultPartitioner makes the hash unsigned (`>>> 0`) instead, which places about
 * half of all keys elsewhere, and hashes through BigInt.
 */
export function kafkaKeyPartition(_message: unknown, key: Buffer | undefined): number {
  return key ? murmur2(key) & 0x7fffffff : 0;
}

const LOG_APPEND_TIME = 0x08;
/** Kafka's error code for a fetch position outside the partition's log. */
const OFFSET_OUT_OF_RANGE = 1;
/**
 * A fetch waits at most this long for new records. A partition whose queue empties during a
 * fetch it was not part of waits for that fetch to return (one fetch per broker at a time, as the
 * broker keeps one fetch session per client), so this bounds that wait too, and stop()'s.
 */
const FETCH_WAIT_MS = 250;
const MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;

function retryDelay(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(5_000, 100 * 2 ** (attempt - 1));
}

function isRejoinError(error: unknown): boolean {
  return findErrorBy(error as Error, 'needsRejoin', true) !== null;
}

/** The records of fetched batches at or after `from` (and before `until`), as the bus delivers them. */
function deliveredMessages(
  topic: string,
  partition: number,
  batches: RecordsBatch[],
  from: bigint,
  until?: bigint,
): DeliveredMessage[] {
  const messages: DeliveredMessage[] = [];
  for (const batch of batches) {
    if (batch.attributes & IS_CONTROL) continue;
    // Offsets and timestamps fit a double; BigInt arithmetic per record would cost more than the decoding.
    const base = Number(batch.firstOffset);
    const appendTime = batch.attributes & LOG_APPEND_TIME ? Number(batch.maxTimestamp) : undefined;
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = base + record.offsetDelta;
      if (offset < from || (until !== undefined && offset >= until)) continue;
      const headers: Record<string, string> = {};
      for (const [name, value] of record.headers)
        if (name && value) headers[name.toString('utf8')] = value.toString('utf8');
      const message: DeliveredMessage = {
        topic,
        partition,
        offset: String(offset),
        key: record.key ? record.key.toString('utf8') : null,
        value: record.value ?? Buffer.alloc(0),
        headers,
        timestamp: appendTime ?? firstTimestamp + Number(record.timestampDelta),
      };
      if (record.value === null) message.tombstone = true;
      messages.push(message);
    }
  }
  return messages;
}

/** The offset after the last record (or control record) of fetched batches, or undefined when none came. */
function nextOffsetAfter(batches: RecordsBatch[] | null | undefined): bigint | undefined {
  const last = batches?.at(-1);
  return last ? last.firstOffset + BigInt(last.lastOffsetDelta) + 1n : undefined;
}

/**
 * The bus on Apache Kafka through @platformatic/kafka: the same guarantees as the kafkajs adapter
 * (kafka-bus.ts), with the same topics, group ids, offsets and key placement, so the two are
 * interchangeable on one cluster. Publishing goes through the same lanes of idempotent producers
 * behind the linger batching; consuming is our own fetch loop on the library's group membership,
 * which gives per-partition batches, seeks and commits exactly where the port wants them.
 */
export class PlatformaticKafkaBus implements Bus {
  readonly kind = 'kafka';
  private readonly lanes: ProducerLanes<BusProducer>;
  private readonly admin: Admin;
  /** Outside any group: offsets and metadata for the bus's own reads. */
  private readonly offsetsReader: Consumer;
  private readonly subscriptions = new Set<Subscription>();
  private readonly prefix: string;

  constructor(private readonly options: PlatformaticKafkaBusOptions) {
    this.prefix = options.topicPrefix ?? '';
    this.lanes = new ProducerLanes(
      options.producers ?? 1,
      options.publish,
      () => this.createProducer(),
      (lane, batch) => this.sendBatch(lane.client, batch),
      (topic) => this.partitionCount(topic),
    );
    this.admin = new Admin(this.clientOptions('admin'));
    this.offsetsReader = this.readerConsumer('offsets');
  }

  /**
   * Connection settings every client of the bus shares: SSL and SASL mapped as the kafkajs adapter
   * maps them. A consumer retries less: its fetch loop joins again after a failure anyway, and the
   * library nests retries (a fetch's metadata request retries within each fetch attempt).
   */
  clientOptions(role: string, retries = 8) {
    const { sasl, ssl } = this.options;
    return {
      clientId: `${this.options.clientId}.${role}`,
      bootstrapBrokers: this.options.brokers,
      connectTimeout: 3_000,
      retries,
      retryDelay,
      tls: ssl ? {} : undefined,
      sasl: sasl
        ? ({ mechanism: sasl.mechanism.toUpperCase(), username: sasl.username, password: sasl.password } as SASLOptions)
        : undefined,
    };
  }

  /** A consumer that never joins its group: fetches and offset listings only. */
  readerConsumer(role: string): Consumer {
    return new Consumer({
      ...this.clientOptions(role, 3),
      groupId: `${this.options.clientId}.${role}`,
      autocommit: false,
    });
  }

  private createProducer(): BusProducer {
    // Idempotent with acks=all; after a failed send the library itself starts a new idempotence
    // session (a new producer id) for the next one, which the kafkajs adapter does by hand.
    const options: ProducerOptions<string, Buffer, string, string> = {
      ...this.clientOptions('producer'),
      idempotent: true,
      autocreateTopics: false,
      partitioner: kafkaKeyPartition,
      serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
    };
    const route = this.options.brokerRoute;
    return route ? new RoutedProducer(options, route) : new Producer(options);
  }

  physical(name: string): string {
    return this.prefix + name;
  }

  logical(name: string): string {
    return name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }

  private unavailable(what: string, error: unknown): BusUnavailableError {
    if (error instanceof BusUnavailableError) return error;
    return new BusUnavailableError(`${what} (Kafka at ${this.options.brokers.join(',')}): ${String(error)}`, {
      cause: error,
    });
  }

  private async sendBatch(
    producer: BusProducer,
    batch: Array<{ topic: string; messages: OutgoingMessage[] }>,
  ): Promise<void> {
    const timeoutMs = this.options.publishTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    // One record batch per partition per send (the Produce request groups by partition), so one
    // publish to one partition lands whole.
    const sending = producer.send({
      messages: batch.flatMap(({ topic, messages }) =>
        messages.map((m) => ({
          topic: this.physical(topic),
          key: m.key,
          value: m.tombstone ? undefined : m.value,
          headers: m.headers,
          partition: m.partition,
        })),
      ),
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BusUnavailableError(`Kafka did not acknowledge the batch within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([sending, timeout]);
    } catch (error) {
      throw this.unavailable('Kafka rejected the batch', error);
    } finally {
      clearTimeout(timer);
      // Keep the in-flight count honest, and the next send behind the new session, until the library gave up.
      await sending.catch(() => undefined);
    }
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    let existing: Set<string>;
    try {
      existing = new Set(await this.admin.listTopics());
    } catch (error) {
      throw this.unavailable('cannot list topics', error);
    }
    const missing = topics.filter((t) => !existing.has(this.physical(t.name)));
    for (const t of missing) {
      try {
        await this.admin.createTopics({
          topics: [this.physical(t.name)],
          partitions: t.partitions,
          replicas: this.options.replicationFactor,
          configs: t.compacted ? compactedTopicConfig() : undefined,
        });
      } catch (error) {
        // Another process may have created it first; that is fine once it exists.
        if (findErrorBy(error as Error, 'apiId', 'TOPIC_ALREADY_EXISTS') === null) throw error;
      }
    }
    if (missing.length > 0) await this.waitForLeaders(missing.map((t) => this.physical(t.name)));
  }

  /** Right after creation a partition may have no leader for a moment, and reading its offsets then fails. */
  private async waitForLeaders(physicalTopics: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const metadata = await this.admin.metadata({ topics: physicalTopics, forceUpdate: true });
      const led = physicalTopics.every((name) => {
        const topic = metadata.topics.get(name);
        return (
          topic !== undefined &&
          topic.partitions.length === topic.partitionsCount &&
          topic.partitions.every((p) => p.leader >= 0)
        );
      });
      if (led || attempt >= 50) return;
      await sleep(100);
    }
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    // An explicit partition is checked by the lanes: the library would take it modulo the count.
    return this.lanes.publish(topic, messages);
  }

  private async partitionCount(topic: string): Promise<number> {
    try {
      const metadata = await this.admin.metadata({ topics: [this.physical(topic)], forceUpdate: true });
      return metadata.topics.get(this.physical(topic))?.partitionsCount ?? 0;
    } catch (error) {
      if (findErrorBy(error as Error, 'apiId', 'UNKNOWN_TOPIC_OR_PARTITION')) return 0;
      throw this.unavailable(`cannot read the metadata of ${topic}`, error);
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await adoptUnprefixedCommits(
      this.prefix,
      options.groupId,
      options.topics,
      {
        committed: (group, topic) => this.committedOffsetsOf(group, topic),
        setCommitted: (group, topic, partitions) =>
          this.admin.alterConsumerGroupOffsets({
            groupId: group,
            topics: [
              {
                name: this.physical(topic),
                partitionOffsets: partitions.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) })),
              },
            ],
          }),
      },
      this.options.logger,
    );
    const subscription = new PlatformaticSubscription(options, this, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      throw error;
    }
    return subscription;
  }

  reportHandlerError(error: unknown, batch: MessageBatch, groupId: string): void {
    this.options.onHandlerError?.(error, batch, groupId);
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.options.logger?.warn(fields, message);
  }

  error(fields: Record<string, unknown>, message: string): void {
    this.options.logger?.error(fields, message);
  }

  get sessionTimeoutMs(): number {
    return this.options.consumerSessionTimeoutMs ?? 30_000;
  }

  /** As the kafkajs adapter names groups (KafkaBus.groupName): the topic prefix in front, so deployments sharing a cluster never share a group. */
  groupName(groupId: string): string {
    return this.prefix + groupId;
  }

  committedOffsets(groupId: string, topic: string): Promise<number[]> {
    return this.committedOffsetsOf(this.groupName(groupId), topic);
  }

  private async committedOffsetsOf(physicalGroupId: string, topic: string): Promise<number[]> {
    const physical = this.physical(topic);
    const partitions = await this.partitionCount(topic);
    const [group] = await this.admin.listConsumerGroupOffsets({
      groups: [
        {
          groupId: physicalGroupId,
          topics: [{ name: physical, partitionIndexes: Array.from({ length: partitions }, (_, p) => p) }],
        },
      ],
    });
    const committed = Array.from({ length: partitions }, () => -1);
    for (const { partitionIndex, committedOffset } of group?.topics.find((t) => t.name === physical)?.partitions ??
      []) {
      committed[partitionIndex] = Number(committedOffset);
    }
    return committed;
  }

  async endOffsets(topic: string): Promise<number[]> {
    const offsets = await this.listOffsets(
      this.offsetsReader,
      this.physical(topic),
      ListOffsetTimestamps.LATEST,
      FetchIsolationLevels.READ_UNCOMMITTED,
    );
    return offsets.map(Number);
  }

  /** Offsets of every partition of a topic at a timestamp (LATEST, EARLIEST), in partition order. */
  async listOffsets(
    consumer: Consumer,
    physical: string,
    timestamp: bigint,
    isolationLevel: number,
    partitions?: number[],
  ): Promise<bigint[]> {
    try {
      const offsets = await consumer.listOffsets({
        topics: [physical],
        timestamp,
        isolationLevel,
        partitions: partitions ? { [physical]: partitions } : undefined,
      });
      return offsets.get(physical) ?? [];
    } catch (error) {
      throw this.unavailable(`cannot list the offsets of ${this.logical(physical)}`, error);
    }
  }

  /**
   * Fetches the partition directly from its leader, from its first stored record up to the end
   * offset it had when called (the last stable offset: transactional records are read once
   * committed); no group is joined and nothing is committed.
   */
  async readPartition(
    topic: string,
    partition: number,
    onBatch: (messages: DeliveredMessage[]) => void | Promise<void>,
  ): Promise<void> {
    const physical = this.physical(topic);
    const count = await this.partitionCount(topic);
    if (!(Number.isInteger(partition) && partition >= 0 && partition < count))
      throw new PartitionOutOfRangeError(topic, partition, count);
    // A consumer of its own: the library keeps one incremental fetch session per broker and client.
    const reader = this.readerConsumer('read-partition');
    try {
      // Listed by partition index: only the asked partition's entry is set.
      let position = (
        await this.listOffsets(reader, physical, ListOffsetTimestamps.EARLIEST, FetchIsolationLevels.READ_COMMITTED, [
          partition,
        ])
      )[partition]!;
      const until = (
        await this.listOffsets(reader, physical, ListOffsetTimestamps.LATEST, FetchIsolationLevels.READ_COMMITTED, [
          partition,
        ])
      )[partition]!;
      while (position < until) {
        const metadata = await reader.metadata({ topics: [physical] });
        const meta = metadata.topics.get(physical)!;
        let response;
        try {
          response = await reader.fetch({
            node: meta.partitions[partition]!.leader,
            maxWaitTime: FETCH_WAIT_MS,
            isolationLevel: FetchIsolationLevels.READ_COMMITTED,
            topics: [
              {
                topicId: meta.id,
                partitions: [
                  {
                    partition,
                    fetchOffset: position,
                    partitionMaxBytes: 16 * 1024 * 1024,
                    currentLeaderEpoch: -1,
                    lastFetchedEpoch: -1,
                  },
                ],
              },
            ],
          });
        } catch (error) {
          throw this.unavailable(`reading ${topic}/${partition} failed`, error);
        }
        const fetched = response.responses.flatMap((t) => t.partitions).find((p) => p.partitionIndex === partition);
        const batches = fetched?.records ?? [];
        const messages = deliveredMessages(topic, partition, batches, position, until);
        if (messages.length > 0) await onBatch(messages);
        position = nextOffsetAfter(batches) ?? position;
      }
    } finally {
      await reader.close().catch((error: unknown) => this.warn({ err: error }, 'could not close a partition reader'));
    }
  }

  /** See Bus.logId: the cluster id and the topic's physical name, exactly as the kafkajs adapter names it. */
  async logId(topic: string): Promise<string> {
    try {
      const metadata = await this.admin.metadata({ topics: [] });
      return `kafka:${metadata.id}/${this.physical(topic)}`;
    } catch (error) {
      throw this.unavailable('cannot describe the cluster', error);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.admin.metadata({ topics: [], forceUpdate: true });
    } catch (error) {
      throw this.unavailable('cannot reach the cluster', error);
    }
  }

  async close(): Promise<void> {
    await this.lanes.drain();
    await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    await Promise.allSettled([
      ...this.lanes.clients().map((p) => p.close()),
      this.admin.close(),
      this.offsetsReader.close(),
    ]);
  }
}

/** One assigned partition as this member reads it. Replaced on every join, so stale results are recognised by identity. */
interface PartitionReader {
  key: string;
  topic: string;
  physical: string;
  partition: number;
  /** Next offset to fetch; null until resolved from the group's commit (or startFrom). */
  position: bigint | null;
  /** Fetched batches not yet handed to the handler: one fetch's worth at most. */
  queue: MessageBatch[];
  fetching: boolean;
  /** Bumped by every seek: what was fetched or handled before it is not committed or queued. */
  version: number;
  /** Manual mode: where the partition is read again from after a failure — the last commit, or the first offset delivered since the join. */
  replayFrom?: string;
  failures: number;
  retryAt: number;
}

class PlatformaticSubscription implements Subscription {
  private readonly consumer: Consumer;
  /** Fetches wait for records on connections of their own, so they never hold up heartbeats or commits. */
  private readonly fetchPool: ConnectionPool;
  private readers = new Map<string, PartitionReader>();
  /** Partitions whose handler runs, across reader replacements: one batch per partition at a time. */
  private readonly busy = new Set<string>();
  private readonly handling = new Set<Promise<void>>();
  private generation = -1;
  private memberId = '';
  private joined!: Promise<void>;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  private rebalancing = false;
  private membershipLost = false;
  private readonly manual: boolean;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  /** The group id on the cluster: the topic prefix in front of the service's. */
  private readonly groupId: string;

  constructor(
    private readonly options: SubscribeOptions,
    private readonly bus: PlatformaticKafkaBus,
    private readonly onStopped: () => void,
  ) {
    const client = bus.clientOptions('consumer', 3);
    this.groupId = bus.groupName(options.groupId);
    this.consumer = new Consumer({
      ...client,
      groupId: this.groupId,
      autocommit: false,
      sessionTimeout: bus.sessionTimeoutMs,
      heartbeatInterval: 3_000,
      rebalanceTimeout: 60_000,
      maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      // kafkajs's protocol name and subscription version: members of both clients can share one group.
      protocols: [{ name: 'RoundRobinAssigner', version: 0 }],
      // Asked before every JoinGroup, including the library's own rejoins on a rebalance.
      protocolsMetadata: () => this.quiesce(),
    });
    this.fetchPool = new ConnectionPool(client.clientId, {
      connectTimeout: client.connectTimeout,
      tls: client.tls,
      sasl: client.sasl,
    });
    this.manual = options.commit === 'manual';
    this.maxInFlight = Math.max(1, options.maxInFlightBatches ?? 1);
    this.maxBatch = options.maxBatchMessages ?? 1000;
  }

  async start(): Promise<void> {
    const { consumer, options, bus } = this;
    // A rejoin the library gave up on ends its heartbeats: the member is out of the group until
    // the fetch loop joins again.
    consumer.on('error', (error: unknown) => {
      bus.error({ err: error, groupId: options.groupId }, 'Kafka consumer lost the broker; it joins its group again');
      this.membershipLost = true;
      this.wake?.();
    });
    this.joined = new Promise<void>((resolve) => {
      consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => {
        this.rebalancing = false;
        this.onJoin(payload);
        resolve();
      });
    });
    for (const topic of options.topics) consumer.topics.track(bus.physical(topic));
    try {
      await consumer.joinGroup({});
    } catch (error) {
      await this.close();
      throw new BusUnavailableError(`cannot join consumer group ${options.groupId}: ${String(error)}`, {
        cause: error,
      });
    }
    this.loop = this.fetchLoop();
  }

  /**
   * Holds the member's (re)join until its running batches are done, and starts no new one until
   * the join: as with kafkajs, which heartbeats only between batches, a partition's new owner never
   * reads it while its old owner still handles a batch of it. The library would otherwise join
   * again at once, from its heartbeat timer. Resolves to the subscription's user data (none).
   */
  private async quiesce(): Promise<Buffer> {
    this.rebalancing = true;
    while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
    return Buffer.alloc(0);
  }

  /** Every join, as kafkajs does, reads each assigned partition again from the group's commit. */
  private onJoin(payload: ConsumerGroupJoinPayload): void {
    this.generation = payload.generationId ?? -1;
    this.memberId = payload.memberId;
    const readers = new Map<string, PartitionReader>();
    for (const { topic: physical, partitions } of payload.assignments ?? []) {
      for (const partition of partitions) {
        const key = `${physical}\u0000${partition}`;
        readers.set(key, {
          key,
          physical,
          topic: this.bus.logical(physical),
          partition,
          position: null,
          queue: [],
          fetching: false,
          version: 0,
          failures: 0,
          retryAt: 0,
        });
      }
    }
    this.readers = readers;
    this.kick();
  }

  private kick(): void {
    this.wake?.();
    this.dispatch();
  }

  /** Whether a fetch or batch still counts: its reader was neither replaced (a join) nor moved (a seek) since. */
  private current(reader: PartitionReader, version: number): boolean {
    return this.readers.get(reader.key) === reader && reader.version === version;
  }

  private async fetchLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.membershipLost) {
        // What kafkajs calls a crash: nothing is owned until the member has joined again, and
        // then every partition is read from its last commit.
        this.membershipLost = false;
        this.readers = new Map();
        await this.rejoin();
        continue;
      }
      try {
        await this.resolvePositions();
        const now = Date.now();
        const due = [...this.readers.values()].filter(
          (r) => r.position !== null && r.queue.length === 0 && !r.fetching && r.retryAt <= now,
        );
        if (due.length === 0) {
          await this.sleep(this.readers.size === 0 ? 1_000 : 50);
          continue;
        }
        await this.fetch(due);
      } catch (error) {
        if (this.stopping) return;
        // The broker is gone past the retries.
        this.bus.error(
          { err: error, groupId: this.options.groupId },
          'Kafka consumer lost the broker; it joins its group again',
        );
        this.membershipLost = true;
      }
    }
  }

  private async rejoin(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      await this.sleep(Math.min(5_000, 250 * attempt));
      try {
        await this.consumer.joinGroup({});
        return;
      } catch (error) {
        this.bus.warn({ err: error, groupId: this.options.groupId }, 'Kafka consumer could not join its group yet');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = null;
    });
  }

  /** Positions of newly assigned partitions: the group's commit (unless `ignoreCommits`), else where startFrom says. */
  private async resolvePositions(ignoreCommits = false): Promise<void> {
    const unresolved = [...this.readers.values()].filter((r) => r.position === null);
    if (unresolved.length === 0) return;
    const byTopic = new Map<string, PartitionReader[]>();
    for (const reader of unresolved) byTopic.set(reader.physical, [...(byTopic.get(reader.physical) ?? []), reader]);
    const committed = ignoreCommits
      ? new Map<string, bigint[]>()
      : await this.consumer.listCommittedOffsets({
          topics: [...byTopic].map(([topic, readers]) => ({ topic, partitions: readers.map((r) => r.partition) })),
        });
    const fallback =
      (this.options.startFrom ?? 'earliest') === 'earliest'
        ? ListOffsetTimestamps.EARLIEST
        : ListOffsetTimestamps.LATEST;
    for (const [physical, readers] of byTopic) {
      const commits = committed.get(physical) ?? [];
      const missing = readers.filter((r) => (commits[r.partition] ?? -1n) < 0n).map((r) => r.partition);
      const starts =
        missing.length > 0
          ? await this.bus.listOffsets(this.consumer, physical, fallback, FetchIsolationLevels.READ_COMMITTED, missing)
          : [];
      for (const reader of readers) {
        if (this.readers.get(reader.key) !== reader) continue;
        const commit = commits[reader.partition] ?? -1n;
        reader.position = commit >= 0n ? commit : starts[reader.partition]!;
      }
    }
  }

  /** One fetch per leader for the partitions that have nothing queued; what comes back is queued in batches. */
  private async fetch(readers: PartitionReader[]): Promise<void> {
    const metadata = await this.consumer.metadata({ topics: [...new Set(readers.map((r) => r.physical))] });
    const byLeader = new Map<number, PartitionReader[]>();
    for (const reader of readers) {
      const leader = metadata.topics.get(reader.physical)!.partitions[reader.partition]!.leader;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), reader]);
    }
    await Promise.all(
      [...byLeader].map(async ([node, group]) => {
        const requested = group.map((reader) => ({ reader, version: reader.version, from: reader.position! }));
        for (const { reader } of requested) reader.fetching = true;
        try {
          const byTopic = new Map<string, typeof requested>();
          for (const r of requested) byTopic.set(r.reader.physical, [...(byTopic.get(r.reader.physical) ?? []), r]);
          const idOf = new Map([...byTopic.keys()].map((physical) => [metadata.topics.get(physical)!.id, physical]));
          const matching = (topicId: string, partition: number) => {
            const match = requested.find(
              (r) => r.reader.physical === idOf.get(topicId) && r.reader.partition === partition,
            );
            return match && this.current(match.reader, match.version) && match.reader.position === match.from
              ? match.reader
              : undefined;
          };
          let response: FetchResponse;
          try {
            response = await this.consumer.fetch({
              node,
              maxWaitTime: FETCH_WAIT_MS,
              connectionPool: this.fetchPool,
              topics: [...byTopic].map(([physical, rs]) => ({
                topicId: metadata.topics.get(physical)!.id,
                partitions: rs.map(({ reader, from }) => ({
                  partition: reader.partition,
                  fetchOffset: from,
                  partitionMaxBytes: MAX_BYTES_PER_PARTITION,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              })),
            });
          } catch (error) {
            const outOfRange = findErrorBy(error as Error, 'apiId', 'OFFSET_OUT_OF_RANGE') as {
              response?: FetchResponse;
            } | null;
            const failed = outOfRange?.response ?? (error as { response?: FetchResponse }).response;
            if (!outOfRange || !failed) throw error;
            // Retention deleted what the position points to (or it is past the end): read on from
            // where startFrom says, as Kafka's auto.offset.reset (and kafkajs) would.
            const lost = failed.responses.flatMap((t) =>
              t.partitions
                .filter((p) => p.errorCode === OFFSET_OUT_OF_RANGE)
                .map((p) => matching(t.topicId, p.partitionIndex)),
            );
            for (const reader of lost) if (reader) reader.position = null;
            await this.resolvePositions(true);
            return;
          }
          for (const topicResponse of response.responses) {
            for (const fetched of topicResponse.partitions) {
              const reader = matching(topicResponse.topicId, fetched.partitionIndex);
              if (reader) this.enqueue(reader, fetched.records ?? [], reader.position!, fetched.highWatermark);
            }
          }
        } finally {
          for (const { reader } of requested) reader.fetching = false;
        }
      }),
    );
    this.dispatch();
  }

  private enqueue(reader: PartitionReader, batches: RecordsBatch[], from: bigint, highWatermark: bigint): void {
    const messages = deliveredMessages(reader.topic, reader.partition, batches, from);
    reader.position = nextOffsetAfter(batches) ?? from;
    for (let start = 0; start < messages.length; start += this.maxBatch) {
      const slice = messages.slice(start, start + this.maxBatch);
      reader.queue.push({
        topic: reader.topic,
        partition: reader.partition,
        messages: slice,
        firstOffset: slice[0]!.offset,
        lastOffset: slice.at(-1)!.offset,
        endOffset: String(highWatermark),
      });
    }
  }

  /** Hands queued batches to the handler: at most maxInFlightBatches at once, one per partition, in offset order. */
  private dispatch(): void {
    if (this.stopping || this.rebalancing) return;
    for (const reader of this.readers.values()) {
      if (this.handling.size >= this.maxInFlight) return;
      if (reader.queue.length === 0 || this.busy.has(reader.key)) continue;
      const batch = reader.queue.shift()!;
      const handled: Promise<void> = this.handle(reader, batch).finally(() => {
        this.handling.delete(handled);
        this.busy.delete(reader.key);
        this.kick();
      });
      this.busy.add(reader.key);
      this.handling.add(handled);
    }
  }

  private async handle(reader: PartitionReader, batch: MessageBatch): Promise<void> {
    const version = reader.version;
    if (this.manual) reader.replayFrom ??= batch.firstOffset;
    try {
      await this.options.handleBatch(batch);
      if (!this.manual && this.current(reader, version)) {
        await this.commitAt(reader.physical, reader.partition, BigInt(batch.lastOffset) + 1n);
      }
      reader.failures = 0;
    } catch (error) {
      this.bus.reportHandlerError(error, batch, this.options.groupId);
      if (!this.current(reader, version)) return;
      // Redelivered from the failed batch (after-batch: its first offset is the commit), or, in
      // manual mode, from the last commit; after a pause that grows with repeated failures.
      reader.failures++;
      this.seek(reader, this.manual ? reader.replayFrom! : batch.firstOffset);
      reader.retryAt = Date.now() + Math.min(5_000, 100 * 2 ** (reader.failures - 1));
    }
  }

  private seek(reader: PartitionReader, offset: string): void {
    reader.version++;
    reader.queue = [];
    reader.position = BigInt(offset);
  }

  /**
   * Commits at this member's generation only. The library's own commit joins the group again and
   * retries under the new generation, which would move a partition this member no longer owns.
   */
  private async commitAt(physical: string, partition: number, nextOffset: bigint): Promise<boolean> {
    const coordinator = await this.consumer.findGroupCoordinator();
    const metadata = await this.consumer.metadata({ topics: [physical] });
    const connection = await this.consumer.connections.get(metadata.brokers.get(coordinator)!);
    try {
      await offsetCommitV8.api.async(connection, this.groupId, this.generation, this.memberId, null, [
        {
          name: physical,
          partitions: [
            {
              partitionIndex: partition,
              committedOffset: nextOffset,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            },
          ],
        },
      ]);
      return true;
    } catch (error) {
      if (isRejoinError(error)) return false;
      throw error;
    }
  }

  ready(): Promise<void> {
    return this.joined;
  }

  assignedPartitions(): Record<string, number[]> {
    const assignment: Record<string, number[]> = {};
    for (const { topic, partition } of this.readers.values()) (assignment[topic] ??= []).push(partition);
    for (const partitions of Object.values(assignment)) partitions.sort((a, b) => a - b);
    return assignment;
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<boolean> {
    const reader = this.readers.get(`${this.bus.physical(topic)}\u0000${partition}`);
    if (this.stopping || !reader) return false;
    if (!(await this.commitAt(reader.physical, partition, BigInt(nextOffset)))) return false;
    if (this.readers.get(reader.key) === reader) reader.replayFrom = nextOffset;
    return true;
  }

  readAgain(topic: string, partition: number): void {
    const reader = this.readers.get(`${this.bus.physical(topic)}\u0000${partition}`);
    // Nothing delivered since the last commit (or the join): the read position is the commit.
    if (this.stopping || !reader || reader.replayFrom === undefined) return;
    this.seek(reader, reader.replayFrom);
    this.kick();
  }

  stop(): Promise<void> {
    // Stops fetching, lets running batches finish (and commit), then leaves the group.
    this.stopping ??= (async () => {
      this.wake?.();
      await this.loop;
      await Promise.allSettled([...this.handling]);
      this.readers = new Map();
      await this.close();
    })().finally(() => this.onStopped());
    return this.stopping;
  }

  private async close(): Promise<void> {
    await this.consumer
      .close()
      .catch((error: unknown) =>
        this.bus.warn({ err: error, groupId: this.options.groupId }, 'could not leave the consumer group'),
      );
    await this.fetchPool.close().catch(() => undefined);
  }
}
