import { BusBackpressureError, PartitionOutOfRangeError, type OutgoingMessage } from './bus.ts';
import { exceedsBuffer, LingeringPublisher, type LingerTuning, type SendBatch } from './lingering-publisher.ts';
import { murmur2 } from './partitioner.ts';

/** One idempotent producer client and the linger batching in front of it. */
export interface ProducerLane<Client> {
  client: Client;
  readonly publisher: LingeringPublisher;
}

/**
 * Idempotent producers publishing side by side, for both Kafka adapters. Each allows one request
 * in flight, so with one producer every publish in the process queues behind the broker's previous
 * acknowledgement; with N, N requests are in flight. A key always goes through the same producer,
 * which keeps per-key order, and a partition named explicitly through one producer, so one publish
 * to it stays one record batch.
 */
export class ProducerLanes<Client> {
  readonly lanes: Array<ProducerLane<Client>>;
  /** Partition counts of topics published to with explicit partitions, to refuse a wrong one clearly. */
  private readonly partitionCounts = new Map<string, number>();

  constructor(
    count: number,
    private readonly tuning: LingerTuning,
    createClient: () => Client,
    send: (lane: ProducerLane<Client>, batch: Parameters<SendBatch>[0]) => Promise<void>,
    /** The topic's partition count as the cluster knows it now (0 for a topic it lacks). */
    private readonly countPartitions: (topic: string) => Promise<number>,
  ) {
    // One send at a time per producer: the idempotent producer allows one request in flight per
    // broker anyway, and what arrives meanwhile joins the next batch instead of queuing in the client.
    const laneTuning: LingerTuning = { ...tuning, maxConcurrentSends: 1 };
    this.lanes = Array.from({ length: Math.max(1, Math.floor(count)) }, () => {
      const lane: ProducerLane<Client> = {
        client: createClient(),
        publisher: new LingeringPublisher((batch) => send(lane, batch), laneTuning),
      };
      return lane;
    });
  }

  clients(): Client[] {
    return this.lanes.map((lane) => lane.client);
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const explicit = messages.filter((m) => m.partition !== undefined);
    if (explicit.length === 0) return this.publishToLanes(topic, messages);
    return this.checkPartitions(topic, explicit).then(() => this.publishToLanes(topic, messages));
  }

  private async checkPartitions(topic: string, messages: OutgoingMessage[]): Promise<void> {
    let count = this.partitionCounts.get(topic);
    // Fetched again when a message names a partition beyond it: partitions may have been added.
    if (count === undefined || messages.some(({ partition }) => partition! >= count!)) {
      count = await this.countPartitions(topic);
      this.partitionCounts.set(topic, count);
    }
    for (const { partition } of messages) {
      if (!(Number.isInteger(partition) && partition! >= 0 && partition! < count))
        throw new PartitionOutOfRangeError(topic, partition!, count);
    }
  }

  private publishToLanes(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.lanes.length === 1) return this.lanes[0]!.publisher.publish(topic, messages);
    const byLane = new Map<ProducerLane<Client>, OutgoingMessage[]>();
    for (const message of messages) {
      const spread = message.partition ?? murmur2(Buffer.from(message.key, 'utf8')) & 0x7fffffff;
      const lane = this.lanes[spread % this.lanes.length]!;
      const list = byLane.get(lane);
      if (list) list.push(message);
      else byLane.set(lane, [message]);
    }
    // The buffer bound is the bus's, not each producer's. Checked before any lane takes a part,
    // so a refused publish (a 503) never follows a partial one.
    const buffered = this.lanes.reduce((n, lane) => n + lane.publisher.buffered, 0);
    const limit = this.tuning.maxBufferedMessages;
    if (exceedsBuffer(buffered, messages.length, limit))
      return Promise.reject(new BusBackpressureError(buffered, limit));
    return Promise.all([...byLane].map(([lane, part]) => lane.publisher.publish(topic, part))).then(() => undefined);
  }

  drain(): Promise<void> {
    return Promise.all(this.lanes.map((lane) => lane.publisher.drain())).then(() => undefined);
  }
}
