import type { ChatBucket } from './spike-detector.ts';

/**
 * Event-time buckets of chat per stream. A stream's watermark is its latest message time minus
 * the allowed lateness; a bucket closes when the watermark passes its end. A stream that falls
 * silent has its watermark moved on by the wall-clock time since its last message, so quiet
 * buckets close too (and feed the baseline). Messages older than the next bucket to close are
 * late: counted and dropped (a chat count one message short does not change a highlight).
 */
export interface ChatObservation {
  sentAt: number;
  userId: string;
  hype: boolean;
}

interface OpenBucket {
  messages: number;
  chatters: Set<string>;
  hypeMessages: number;
}

interface StreamBuckets {
  nextToCloseMs: number;
  /** Empty buckets before the stream's first message are not emitted. */
  emittedAny: boolean;
  maxEventMs: number;
  lastArrivalWallMs: number;
  open: Map<number, OpenBucket>;
}

export interface ChatBucketerOptions {
  bucketMs: number;
  allowedLatenessMs: number;
  /** After a longer silence, empty buckets are emitted for this many and the rest skipped. */
  maxEmptyBuckets: number;
}

export class ChatBucketer {
  private readonly streams = new Map<string, StreamBuckets>();
  lateMessages = 0;

  constructor(private readonly options: ChatBucketerOptions) {}

  get streamCount(): number {
    return this.streams.size;
  }

  streamIds(): string[] {
    return [...this.streams.keys()];
  }

  add(streamId: string, observation: ChatObservation, wallNowMs: number): boolean {
    const { bucketMs } = this.options;
    const bucketStart = Math.floor(observation.sentAt / bucketMs) * bucketMs;
    let stream = this.streams.get(streamId);
    if (!stream) {
      // The first bucket reaches back by the lateness, so earlier messages of the first batch still count.
      const firstBucket = Math.floor((observation.sentAt - this.options.allowedLatenessMs) / bucketMs) * bucketMs;
      stream = {
        nextToCloseMs: firstBucket,
        emittedAny: false,
        maxEventMs: observation.sentAt,
        lastArrivalWallMs: wallNowMs,
        open: new Map(),
      };
      this.streams.set(streamId, stream);
    }
    if (bucketStart < stream.nextToCloseMs) {
      this.lateMessages++;
      return false;
    }
    let bucket = stream.open.get(bucketStart);
    if (!bucket) {
      bucket = { messages: 0, chatters: new Set(), hypeMessages: 0 };
      stream.open.set(bucketStart, bucket);
    }
    bucket.messages++;
    bucket.chatters.add(observation.userId);
    if (observation.hype) bucket.hypeMessages++;
    if (observation.sentAt > stream.maxEventMs) stream.maxEventMs = observation.sentAt;
    stream.lastArrivalWallMs = wallNowMs;
    return true;
  }

  /**
   * Closes the stream's buckets the watermark has passed, in order, empty ones included. The
   * watermark moves with the latest message, or with the wall clock once the stream is silent.
   */
  close(streamId: string, wallNowMs: number): ChatBucket[] {
    const stream = this.streams.get(streamId);
    if (!stream) return [];
    const { bucketMs, allowedLatenessMs, maxEmptyBuckets } = this.options;
    const silentFor = Math.max(0, wallNowMs - stream.lastArrivalWallMs);
    const watermark = stream.maxEventMs + silentFor - allowedLatenessMs;
    const closed: ChatBucket[] = [];
    let emptyRun = 0;
    while (stream.nextToCloseMs + bucketMs <= watermark) {
      const start = stream.nextToCloseMs;
      const bucket = stream.open.get(start);
      stream.open.delete(start);
      if (bucket) {
        emptyRun = 0;
        stream.emittedAny = true;
        closed.push({
          startMs: start,
          messages: bucket.messages,
          uniqueChatters: bucket.chatters.size,
          hypeMessages: bucket.hypeMessages,
        });
      } else if (!stream.emittedAny) {
        // Before the first message: nothing to report.
      } else if (emptyRun < maxEmptyBuckets) {
        emptyRun++;
        closed.push({ startMs: start, messages: 0, uniqueChatters: 0, hypeMessages: 0 });
      } else {
        // A long silence: skip ahead to the next bucket with messages (or the watermark).
        const nextOpen = Math.min(...[...stream.open.keys()].filter((k) => k > start));
        const resumeAt = Number.isFinite(nextOpen) ? nextOpen : Math.floor(watermark / bucketMs) * bucketMs;
        stream.nextToCloseMs = Math.max(resumeAt, start + bucketMs);
        continue;
      }
      stream.nextToCloseMs = start + bucketMs;
    }
    return closed;
  }

  /** Forgets streams silent (by the wall clock) for longer than `idleMs`. */
  evictIdle(wallNowMs: number, idleMs: number): string[] {
    const evicted: string[] = [];
    for (const [id, stream] of this.streams) {
      if (wallNowMs - stream.lastArrivalWallMs > idleMs) {
        this.streams.delete(id);
        evicted.push(id);
      }
    }
    return evicted;
  }
}
