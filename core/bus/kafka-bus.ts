import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import {
  AssignerProtocol,
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer,
  type IHeaders,
  type ISocketFactory,
  type KafkaMessage,
  type LogEntry,
  type PartitionAssigner,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from 'pino';
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
import type { LingerTuning } from './lingering-publisher.ts';
import { ProducerLanes } from './producer-lanes.ts';
import { adoptUnprefixedCommits } from './unprefixed-commits.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Prepended to every topic name and consumer group id (environments sharing a cluster); domain code never sees it. */
  topicPrefix?: string;
  defaultPartitions: number;
  replicationFactor: number;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** How connections to brokers are opened (kafkajs's default: a TCP or TLS socket to each broker), e.g. through a proxy. */
  socketFactory?: ISocketFactory;
  publish: LingerTuning;
  /**
   * Idempotent producers publishing side by side (default 1). Each allows one request in flight,
   * so with one producer every publish in the process queues behind the broker's previous
   * acknowledgement; with N, N requests are in flight. A key always goes through the same
   * producer, which keeps per-key order.
   */
  producers?: number;
  /** A publish not acknowledged within this time fails with BusUnavailableError (the collector answers 503). */
  publishTimeoutMs?: number;
  /** How long the group waits for a silent member (e.g. one killed with SIGKILL) before reassigning its partitions. */
  consumerSessionTimeoutMs?: number;
  logger?: Logger;
  onHandlerError?: (error: unknown, batch: MessageBatch, groupId: string) => void;
}

function toPinoLevel(level: KafkaLogLevel): 'error' | 'warn' | 'info' | 'debug' {
  if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.NOTHING) return 'error';
  if (level === KafkaLogLevel.WARN) return 'warn';
  if (level === KafkaLogLevel.INFO) return 'info';
  return 'debug';
}

function headerValues(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? String(value[value.length - 1]) : String(value);
  }
  return result;
}

/**
 * What a compacted topic's record batch may weigh (Kafka's default is 1 MiB): a publish to one
 * partition is one record batch, and a changelog checkpoint must land whole, however large.
 */
const COMPACTED_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/**
 * Kafka never compacts the active segment, which rolls after 7 days or 1 GiB by default: a
 * changelog written every second would be restored from that much. Rolled every 10 minutes, what
 * a restore reads beyond the latest records stays about ten minutes of checkpoints.
 */
const COMPACTED_SEGMENT_MS = 10 * 60 * 1000;

/** The configuration a compacted topic is created with, by either Kafka adapter. */
export function compactedTopicConfig(): Array<{ name: string; value: string }> {
  return [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'max.message.bytes', value: String(COMPACTED_MAX_MESSAGE_BYTES) },
    { name: 'segment.ms', value: String(COMPACTED_SEGMENT_MS) },
  ];
}

function deliveredMessage(topic: string, partition: number, m: KafkaMessage): DeliveredMessage {
  const message: DeliveredMessage = {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ?? Buffer.alloc(0),
    headers: headerValues(m.headers),
    timestamp: Number(m.timestamp),
  };
  if (m.value === null) message.tombstone = true;
  return message;
}

/**
 * kafkajs has no manual assignment (tulios/kafkajs#373); its maintainers' way to read chosen
 * partitions is an assigner that hands them to the group's only member.
 */
function assignerOf(topic: string, partition: number): PartitionAssigner {
  const name = 'LivepulseOnePartition';
  return () => ({
    name,
    version: 1,
    assign: ({ members }) =>
      Promise.resolve(
        members.map((member, i) => ({
          memberId: member.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: i === 0 ? { [topic]: [partition] } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      ),
    protocol: ({ topics }) => ({
      name,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
  });
}

/** One idempotent producer and the linger batching in front of it. */
interface ProducerClient {
  producer: Producer;
  connection: Promise<void> | null;
}

/**
 * The bus on Apache Kafka through kafkajs: idempotent producers with acks=all behind our own
 * linger batching, and consumer groups whose offsets are committed only after the batch
 * handler resolved. A handler error is rethrown to kafkajs, which seeks back and redelivers.
 */
export class KafkaBus implements Bus {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private readonly lanes: ProducerLanes<ProducerClient>;
  private readonly admin: Admin;
  private adminConnection: Promise<void> | null = null;
  private readonly subscriptions = new Set<Subscription>();
  private readonly prefix: string;

  constructor(private readonly options: KafkaBusOptions) {
    this.prefix = options.topicPrefix ?? '';
    const log = options.logger;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl as SASLOptions | undefined,
      socketFactory: options.socketFactory,
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
      logLevel: KafkaLogLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...fields } = entry;
          log?.[toPinoLevel(level)]({ kafka: fields }, message);
        },
    });
    this.lanes = new ProducerLanes(
      options.producers ?? 1,
      options.publish,
      () => ({ producer: this.createProducer(), connection: null }),
      (lane, batch) => this.sendBatch(lane.client, batch),
      (topic) => this.partitionCount(topic),
    );
    this.admin = this.kafka.admin();
  }

  private createProducer(): Producer {
    // Idempotence makes broker-side retries safe (no duplicates, order kept per partition).
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Kafka's murmur2 placement, the same as the embedded log and Java clients.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /**
   * After a failed send the broker may still have written the batch (its answer lost), yet kafkajs
   * rewinds its sequence numbers, so the broker would refuse every later batch to that partition
   * as out of order, or take one of the same size for the lost batch's retry and not write it. A
   * new producer starts a new idempotence session; the failed batch, if written, is then a
   * duplicate that its publisher's retry adds and consumers drop (at least once).
   */
  private renewProducer(lane: ProducerClient): void {
    const stale = lane.producer;
    lane.producer = this.createProducer();
    lane.connection = null;
    stale
      .disconnect()
      .catch((error: unknown) =>
        this.options.logger?.warn({ err: error }, 'could not disconnect a renewed Kafka producer'),
      );
  }

  private topicName(topic: string): string {
    return this.prefix + topic;
  }

  /**
   * Group ids carry the topic prefix too: deployments that share a cluster run the same services
   * under the same group ids, and one group across prefixes would hand one deployment's
   * partitions to the other's members, which never read them (kafkajs assigns every subscribed
   * topic of the group to every member).
   */
  private groupName(groupId: string): string {
    return this.prefix + groupId;
  }

  private logicalTopic(name: string): string {
    return name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }

  private connectProducer(lane: ProducerClient): Promise<void> {
    lane.connection ??= lane.producer.connect().catch((error: unknown) => {
      lane.connection = null;
      throw new BusUnavailableError(`cannot connect to Kafka at ${this.options.brokers.join(',')}: ${String(error)}`, {
        cause: error,
      });
    });
    return lane.connection;
  }

  private connectAdmin(): Promise<void> {
    this.adminConnection ??= this.admin.connect().catch((error: unknown) => {
      this.adminConnection = null;
      throw new BusUnavailableError(`cannot connect to Kafka at ${this.options.brokers.join(',')}: ${String(error)}`, {
        cause: error,
      });
    });
    return this.adminConnection;
  }

  private async sendBatch(
    lane: ProducerClient,
    batch: Array<{ topic: string; messages: OutgoingMessage[] }>,
  ): Promise<void> {
    await this.connectProducer(lane);
    const timeoutMs = this.options.publishTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const sending = lane.producer.sendBatch({
      acks: -1,
      topicMessages: batch.map(({ topic, messages }) => ({
        topic: this.topicName(topic),
        messages: messages.map((m) => ({
          key: m.key,
          value: m.tombstone ? null : m.value,
          headers: m.headers,
          partition: m.partition,
        })),
      })),
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
      if (error instanceof BusUnavailableError) throw error;
      throw new BusUnavailableError(`Kafka rejected the batch: ${String(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      // Keep the in-flight count honest until kafkajs has really given up on the batch.
      const failed = await sending.then(
        () => false,
        () => true,
      );
      if (failed) this.renewProducer(lane);
    }
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    await this.connectAdmin();
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(this.topicName(t.name)));
    if (missing.length === 0) return;
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: this.topicName(t.name),
          numPartitions: t.partitions,
          replicationFactor: this.options.replicationFactor,
          configEntries: t.compacted ? compactedTopicConfig() : undefined,
        })),
      });
    } catch (error) {
      // Another process may have created them first; that is fine if they exist now, once their
      // partitions have leaders (its waitForLeaders was its own): until then reading their
      // offsets fails with "not the leader".
      const now = new Set(await this.admin.listTopics());
      if (!missing.every((t) => now.has(this.topicName(t.name)))) throw error;
      for (const t of missing) await this.topicOffsets(this.topicName(t.name));
    }
  }

  /**
   * A topic's offsets per partition. Just after a topic is created its partitions may not have
   * leaders yet for a moment (kafkajs's admin does not retry the "not the leader" it then gets):
   * retriable errors are tried again for up to 5 s.
   */
  private async topicOffsets(
    physical: string,
  ): Promise<Array<{ partition: number; offset: string; high: string; low: string }>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admin.fetchTopicOffsets(physical);
      } catch (error) {
        if ((error as { retriable?: boolean }).retriable !== true || attempt >= 50) throw error;
      }
      await sleep(100);
    }
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.lanes.publish(topic, messages);
  }

  private async partitionCount(topic: string): Promise<number> {
    await this.connectAdmin();
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [this.topicName(topic)] });
    return topics[0]?.partitions.length ?? 0;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const groupId = this.groupName(options.groupId);
    await adoptUnprefixedCommits(
      this.prefix,
      options.groupId,
      options.topics,
      {
        committed: (group, topic) => this.committedOffsetsOf(group, topic),
        setCommitted: async (group, topic, partitions) => {
          await this.admin.setOffsets({
            groupId: group,
            topic: this.topicName(topic),
            partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
          });
        },
      },
      this.options.logger,
    );
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.consumerSessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      rebalanceTimeout: 60_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    const subscription = new KafkaSubscription(consumer, options, this, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  /** Used by subscriptions: topic-name mapping and error reporting live with the bus. */
  physical(name: string): string {
    return this.topicName(name);
  }
  logical(name: string): string {
    return this.logicalTopic(name);
  }
  reportHandlerError(error: unknown, batch: MessageBatch, groupId: string): void {
    this.options.onHandlerError?.(error, batch, groupId);
  }

  committedOffsets(groupId: string, topic: string): Promise<number[]> {
    return this.committedOffsetsOf(this.groupName(groupId), topic);
  }

  private async committedOffsetsOf(physicalGroupId: string, topic: string): Promise<number[]> {
    await this.connectAdmin();
    const [result] = await this.admin.fetchOffsets({
      groupId: physicalGroupId,
      topics: [this.topicName(topic)],
    });
    const partitions = [...(result?.partitions ?? [])].sort((a, b) => a.partition - b.partition);
    return partitions.map((p) => Number(p.offset));
  }

  async endOffsets(topic: string): Promise<number[]> {
    await this.connectAdmin();
    const offsets = await this.topicOffsets(this.topicName(topic));
    return [...offsets].sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));
  }

  /**
   * A throwaway consumer group whose only member is assigned the partition, reading from its
   * earliest offset up to the end offset it had when called; nothing is committed, and the group
   * is deleted afterwards. Joining costs the broker's group.initial.rebalance.delay.ms (3 s by
   * default; 0 in infra/local).
   */
  async readPartition(
    topic: string,
    partition: number,
    onBatch: (messages: DeliveredMessage[]) => void | Promise<void>,
  ): Promise<void> {
    await this.connectAdmin();
    const physical = this.topicName(topic);
    const offsets = await this.topicOffsets(physical);
    const bounds = offsets.find((o) => o.partition === partition);
    if (!bounds) throw new PartitionOutOfRangeError(topic, partition, offsets.length);
    const end = BigInt(bounds.high);
    if (BigInt(bounds.low) >= end) return;
    const groupId = this.groupName(`${this.options.clientId}.read-partition.${randomUUID()}`);
    const consumer = this.kafka.consumer({
      groupId,
      partitionAssigners: [assignerOf(physical, partition)],
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 16 * 1024 * 1024,
      // A failure ends the read (and rejects it) instead of restarting the consumer.
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000, restartOnFailure: () => Promise.resolve(false) },
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [physical], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        consumer.on(consumer.events.CRASH, ({ payload }) =>
          reject(
            new BusUnavailableError(`reading ${topic}/${partition} failed: ${String(payload.error)}`, {
              cause: payload.error,
            }),
          ),
        );
        // After each batch, also one of only control records or compacted-away messages.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          if (!failed && payload.partition === partition && BigInt(payload.lastOffset) + 1n >= end) resolve();
        });
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (failed) return;
              const messages = batch.messages
                .filter((m) => BigInt(m.offset) < end)
                .map((m) => deliveredMessage(topic, partition, m));
              try {
                if (messages.length > 0) await onBatch(messages);
              } catch (error) {
                failed = true;
                reject(error instanceof Error ? error : new Error(String(error), { cause: error }));
              }
            },
          })
          .catch(reject);
      });
    } finally {
      // Tidiness only: an empty group without commits expires on its own.
      await consumer
        .disconnect()
        .catch((error: unknown) =>
          this.options.logger?.warn({ err: error, groupId }, 'could not disconnect a partition reader'),
        );
      await this.admin
        .deleteGroups([groupId])
        .catch((error: unknown) =>
          this.options.logger?.warn({ err: error, groupId }, "could not delete a partition reader's group"),
        );
    }
  }

  /** See Bus.logId: the cluster id and the topic's physical name (kafkajs cannot read topic ids). */
  async logId(topic: string): Promise<string> {
    await this.connectAdmin();
    const { clusterId } = await this.admin.describeCluster();
    return `kafka:${clusterId}/${this.topicName(topic)}`;
  }

  async ping(): Promise<void> {
    await this.connectAdmin();
    await this.admin.describeCluster();
  }

  async close(): Promise<void> {
    await this.lanes.drain();
    await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    await Promise.allSettled([
      ...this.lanes.clients().map((lane) => lane.producer.disconnect()),
      this.admin.disconnect(),
    ]);
  }
}

class KafkaSubscription implements Subscription {
  private assignment: Record<string, number[]> = {};
  /**
   * Manual mode: where each partition is read again from after a failed batch — the last commit,
   * or the first offset this member was given since it joined. Cleared on every join, since
   * kafkajs then reads from the group's committed offsets itself.
   */
  private readonly replayFrom = new Map<string, string>();
  private joined!: Promise<void>;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly bus: KafkaBus,
    private readonly onStopped: () => void,
  ) {}

  async start(): Promise<void> {
    const { consumer, options, bus } = this;
    this.joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        this.assignment = Object.fromEntries(
          Object.entries(payload.memberAssignment).map(([topic, partitions]) => [
            bus.logical(topic),
            [...partitions].sort((a, b) => a - b),
          ]),
        );
        this.replayFrom.clear();
        resolve();
      });
    });
    // After a crash (the broker gone past kafkajs's retries) and until the restart rejoins, the
    // member owns nothing: there is no running consumer to seek or commit with, and the restart
    // reads from the last commit.
    consumer.on(consumer.events.CRASH, () => {
      this.assignment = {};
      this.replayFrom.clear();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: options.topics.map((t) => bus.physical(t)),
        fromBeginning: (options.startFrom ?? 'earliest') === 'earliest',
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw new BusUnavailableError(`cannot join consumer group ${options.groupId}: ${String(error)}`, {
        cause: error,
      });
    }
    const maxBatch = options.maxBatchMessages ?? 1000;
    const manual = options.commit === 'manual';
    await consumer.run({
      autoCommit: !manual,
      // Commit as soon as one offset is resolved, i.e. right after each handled batch.
      autoCommitThreshold: 1,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, options.maxInFlightBatches ?? 1),
      eachBatch: async (payload) => {
        const { batch } = payload;
        const topic = bus.logical(batch.topic);
        for (let start = 0; start < batch.messages.length; start += maxBatch) {
          if (!payload.isRunning() || payload.isStale()) return;
          const slice = batch.messages.slice(start, start + maxBatch);
          const messages = slice.map((m) => deliveredMessage(topic, batch.partition, m));
          const delivered: MessageBatch = {
            topic,
            partition: batch.partition,
            messages,
            firstOffset: messages[0]!.offset,
            lastOffset: messages[messages.length - 1]!.offset,
            endOffset: batch.highWatermark,
          };
          const partitionKey = `${batch.topic}\u0000${batch.partition}`;
          if (manual && !this.replayFrom.has(partitionKey)) this.replayFrom.set(partitionKey, delivered.firstOffset);
          try {
            await options.handleBatch(delivered);
          } catch (error) {
            bus.reportHandlerError(error, delivered, options.groupId);
            // kafkajs retries from its read position; in manual mode that is ahead of the commit.
            if (manual)
              consumer.seek({
                topic: batch.topic,
                partition: batch.partition,
                offset: this.replayFrom.get(partitionKey)!,
              });
            throw error;
          }
          payload.resolveOffset(delivered.lastOffset);
          if (!manual) await payload.commitOffsetsIfNecessary();
          await payload.heartbeat();
        }
      },
    });
  }

  ready(): Promise<void> {
    return this.joined;
  }

  assignedPartitions(): Record<string, number[]> {
    return structuredClone(this.assignment);
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<boolean> {
    if (this.stopping || !(this.assignment[topic] ?? []).includes(partition)) return false;
    const physical = this.bus.physical(topic);
    await this.consumer.commitOffsets([{ topic: physical, partition, offset: nextOffset }]);
    this.replayFrom.set(`${physical}\u0000${partition}`, nextOffset);
    return true;
  }

  readAgain(topic: string, partition: number): void {
    const physical = this.bus.physical(topic);
    const from = this.replayFrom.get(`${physical}\u0000${partition}`);
    // Nothing delivered since the last commit (or the assignment): the read position is the commit.
    if (this.stopping || from === undefined || !(this.assignment[topic] ?? []).includes(partition)) return;
    try {
      this.consumer.seek({ topic: physical, partition, offset: from });
    } catch {
      // kafkajs refuses a seek while it has no running consumer (crashed, not yet told us): its
      // restart reads from the last commit, which is what was asked.
    }
  }

  stop(): Promise<void> {
    // kafkajs waits for running batches, commits resolved offsets and leaves the group.
    this.stopping ??= this.consumer.disconnect().finally(() => this.onStopped());
    return this.stopping;
  }
}
