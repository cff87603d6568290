import { BusBackpressureError, type OutgoingMessage } from './bus.ts';

/**
 * Groups concurrent publish calls into shared producer batches. kafkajs has no linger.ms of
 * its own, so without this every HTTP request would pay one broker round trip. A publish
 * resolves when the batch that carried its messages was acknowledged.
 *
 * At most `maxConcurrentSends` batches are in flight (1 for Kafka's idempotent producer, which
 * sends one request at a time anyway). Publishes arriving meanwhile wait and leave together as
 * soon as a send returns, so batches grow with load instead of queuing inside the client.
 *
 * Memory is bounded: messages waiting or in flight count against `maxBufferedMessages`, and
 * a publish that would exceed it is refused at once (the collector turns that into a 503).
 */

/**
 * Whether a publish of `count` messages must be refused with `buffered` in flight. One larger
 * than the whole buffer is taken when nothing else is (memory: the limit or that one publish):
 * a publish must land whole (a changelog checkpoint holds a header per view at a fold), and
 * refusing it for ever would stall what waits on it.
 */
export function exceedsBuffer(buffered: number, count: number, limit: number): boolean {
  return buffered + count > limit && buffered > 0;
}
export interface LingerTuning {
  lingerMs: number;
  /** A batch is sent without waiting for the linger window once it holds this many messages; sends never exceed it except for one oversized publish. */
  maxBatchMessages: number;
  maxBufferedMessages: number;
  /**
   * Bytes (keys + values) one send may carry when it merges publishes. Kafka refuses a record
   * batch over `message.max.bytes` (1 MiB by default) per partition; staying under it overall
   * keeps every partition's batch under it. Default 900 KiB. A single larger publish goes alone.
   */
  maxBatchBytes?: number;
  /** Default: unlimited. */
  maxConcurrentSends?: number;
}

export type SendBatch = (batch: Array<{ topic: string; messages: OutgoingMessage[] }>) => Promise<void>;

interface PendingPublish {
  topic: string;
  messages: OutgoingMessage[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class LingeringPublisher {
  private pending: PendingPublish[] = [];
  private pendingMessages = 0;
  private bufferedMessages = 0;
  private sendsInFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxConcurrentSends: number;

  constructor(
    private readonly send: SendBatch,
    private readonly tuning: LingerTuning,
  ) {
    this.maxConcurrentSends = tuning.maxConcurrentSends ?? Infinity;
  }

  /** Messages accepted but not yet acknowledged. */
  get buffered(): number {
    return this.bufferedMessages;
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (exceedsBuffer(this.bufferedMessages, messages.length, this.tuning.maxBufferedMessages)) {
      return Promise.reject(new BusBackpressureError(this.bufferedMessages, this.tuning.maxBufferedMessages));
    }
    this.bufferedMessages += messages.length;
    return new Promise<void>((resolve, reject) => {
      const bytes = messages.reduce((n, m) => n + m.value.length + Buffer.byteLength(m.key), 0);
      this.pending.push({ topic, messages, bytes, resolve, reject });
      this.pendingMessages += messages.length;
      if (this.pendingMessages >= this.tuning.maxBatchMessages || this.tuning.lingerMs === 0) this.flush();
      else if (this.sendsInFlight < this.maxConcurrentSends)
        this.timer ??= setTimeout(() => this.flush(), this.tuning.lingerMs);
      // Otherwise a send is in flight at the limit: its completion flushes what waits.
    });
  }

  /** Sends what is waiting now, without waiting for the linger window, as far as the send limit allows. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.pending.length > 0 && this.sendsInFlight < this.maxConcurrentSends) this.sendNextBatch();
  }

  private sendNextBatch(): void {
    // Whole publishes up to maxBatchMessages and maxBatchBytes; a single larger publish goes alone.
    const maxBytes = this.tuning.maxBatchBytes ?? 900 * 1024;
    const publishes: PendingPublish[] = [];
    let count = 0;
    let bytes = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      const full = count + next.messages.length > this.tuning.maxBatchMessages || bytes + next.bytes > maxBytes;
      if (publishes.length > 0 && full) break;
      publishes.push(this.pending.shift()!);
      count += next.messages.length;
      bytes += next.bytes;
    }
    this.pendingMessages -= count;

    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const p of publishes) {
      const list = byTopic.get(p.topic);
      if (list) list.push(...p.messages);
      else byTopic.set(p.topic, [...p.messages]);
    }
    this.sendsInFlight++;
    const tracked = this.send([...byTopic].map(([topic, messages]) => ({ topic, messages })))
      .then(
        () => publishes.forEach((p) => p.resolve()),
        (error: unknown) => publishes.forEach((p) => p.reject(error)),
      )
      .finally(() => {
        this.bufferedMessages -= count;
        this.sendsInFlight--;
        this.inFlight.delete(tracked);
        // What arrived during the send has waited long enough: send it now.
        if (this.pending.length > 0) this.flush();
      });
    this.inFlight.add(tracked);
  }

  /** Flushes and waits until everything accepted so far was acknowledged or failed. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0 || this.pending.length > 0) {
      await Promise.allSettled([...this.inFlight]);
      this.flush();
    }
  }
}
