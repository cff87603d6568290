import { BusBackpressureError, type OutgoingMessage } from './bus.ts';

/**
 * Groups concurrent publish calls into shared producer batches. kafkajs has no linger.ms of
 * its own, so without this every HTTP request would pay one broker round trip. A publish
 * resolves when the batch that carried its messages was acknowledged.
 *
 * Memory is bounded: messages waiting or in flight count against `maxBufferedMessages`, and
 * a publish that would exceed it is refused at once (the collector turns that into a 503).
 */
export interface LingerTuning {
  lingerMs: number;
  maxBatchMessages: number;
  maxBufferedMessages: number;
}

export type SendBatch = (batch: Array<{ topic: string; messages: OutgoingMessage[] }>) => Promise<void>;

interface PendingPublish {
  topic: string;
  messages: OutgoingMessage[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class LingeringPublisher {
  private pending: PendingPublish[] = [];
  private pendingMessages = 0;
  private bufferedMessages = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly send: SendBatch,
    private readonly tuning: LingerTuning,
  ) {}

  /** Messages accepted but not yet acknowledged. */
  get buffered(): number {
    return this.bufferedMessages;
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.bufferedMessages + messages.length > this.tuning.maxBufferedMessages) {
      return Promise.reject(new BusBackpressureError(this.bufferedMessages, this.tuning.maxBufferedMessages));
    }
    this.bufferedMessages += messages.length;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ topic, messages, resolve, reject });
      this.pendingMessages += messages.length;
      if (this.pendingMessages >= this.tuning.maxBatchMessages || this.tuning.lingerMs === 0) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.tuning.lingerMs);
    });
  }

  /** Sends what is waiting now, without waiting for the linger window. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    const publishes = this.pending;
    this.pending = [];
    this.pendingMessages = 0;

    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const p of publishes) {
      const list = byTopic.get(p.topic);
      if (list) list.push(...p.messages);
      else byTopic.set(p.topic, [...p.messages]);
    }
    const count = publishes.reduce((n, p) => n + p.messages.length, 0);
    const sending = this.send([...byTopic].map(([topic, messages]) => ({ topic, messages }))).then(
      () => publishes.forEach((p) => p.resolve()),
      (error: unknown) => publishes.forEach((p) => p.reject(error)),
    );
    const tracked = sending.finally(() => {
      this.bufferedMessages -= count;
      this.inFlight.delete(tracked);
    });
    this.inFlight.add(tracked);
  }

  /** Flushes and waits until everything accepted so far was acknowledged or failed. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
