import type { MessageBatch } from '../../core/bus/bus.ts';
import type { DeadLetter } from '../../core/dead-letters.ts';
import { chatMessageValidator } from '../../core/schemas/chat.ts';
import type { Highlight } from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { ChatBucketer } from './chat-buckets.ts';
import { isHype } from './chat-signals.ts';
import {
  detectInBucket,
  highlightFromDetection,
  initialDetectorState,
  type DetectorSettings,
  type DetectorState,
} from './spike-detector.ts';
import type { ViewerCounts } from './viewer-counts.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';

/**
 * The highlight detector's state across streams: chat buckets, each stream's baseline, and the
 * viewer counts the rates are normalised by. Feed it chat batches and clock ticks; it returns
 * the highlights to publish. State is in memory: after a restart or a rebalance a stream's
 * baseline warms up again (one minute by default) before it can fire.
 */
export interface DetectorOutput {
  highlights: Highlight[];
  deadLetters: DeadLetter[];
  bucketsClosed: number;
}

export class HighlightDetector {
  private readonly bucketer: ChatBucketer;
  private readonly states = new Map<string, DetectorState>();
  /** Highest offset counted per topic-partition: a batch redelivered after a failure is not counted twice. */
  private readonly countedOffsets = new Map<string, bigint>();

  constructor(
    private readonly settings: DetectorSettings,
    private readonly viewers: ViewerCounts,
    options: { allowedLatenessMs: number; maxEmptyBuckets: number },
  ) {
    this.bucketer = new ChatBucketer({ bucketMs: settings.bucketMs, ...options });
  }

  get lateMessages(): number {
    return this.bucketer.lateMessages;
  }

  get trackedStreams(): number {
    return this.bucketer.streamCount;
  }

  /** Counts a batch of `chat.messages` and closes the buckets it completes. */
  handleChat(batch: MessageBatch, wallNowMs: number): DetectorOutput {
    const deadLetters: DeadLetter[] = [];
    const touched = new Set<string>();
    const partitionKey = `${batch.topic}/${batch.partition}`;
    const counted = this.countedOffsets.get(partitionKey) ?? -1n;
    for (const message of batch.messages) {
      if (BigInt(message.offset) <= counted) continue;
      const parsed = parseJsonPayload(message.value);
      if (!chatMessageValidator.check(parsed)) {
        deadLetters.push({
          sourceTopic: TOPICS.chatMessages,
          payload: message.value,
          reason: 'chat message is invalid',
          errors: chatMessageValidator.errors(parsed),
          origin: `${batch.topic}/${batch.partition}/${message.offset}`,
        });
        continue;
      }
      // Blocked messages (spam, abuse) are not audience reaction; held ones still are.
      if (parsed.heuristic_decision === 'block') continue;
      this.bucketer.add(
        parsed.stream_id,
        { sentAt: parsed.sent_at, userId: parsed.user_id, hype: isHype(parsed.text) },
        wallNowMs,
      );
      touched.add(parsed.stream_id);
    }
    this.countedOffsets.set(partitionKey, BigInt(batch.lastOffset));
    return { ...this.closeBuckets([...touched], wallNowMs), deadLetters };
  }

  /** Closes the buckets of streams that went quiet, and forgets streams silent for `idleMs`. */
  tick(wallNowMs: number, idleMs: number): DetectorOutput {
    for (const streamId of this.bucketer.evictIdle(wallNowMs, idleMs)) {
      this.states.delete(streamId);
      this.viewers.forget(streamId);
    }
    return { ...this.closeBuckets(this.bucketer.streamIds(), wallNowMs), deadLetters: [] };
  }

  private closeBuckets(streamIds: string[], wallNowMs: number): { highlights: Highlight[]; bucketsClosed: number } {
    const highlights: Highlight[] = [];
    let bucketsClosed = 0;
    for (const streamId of streamIds) {
      let state = this.states.get(streamId) ?? initialDetectorState();
      for (const bucket of this.bucketer.close(streamId, wallNowMs)) {
        bucketsClosed++;
        // The window covering the bucket's last instant: at the bucket's end itself a new 10 s
        // window may just have begun, reported by only some partitions so far, and a partial
        // count would look like a sudden drop (and inflate the baseline's spread).
        const viewers = this.viewers.at(streamId, bucket.startMs + this.settings.bucketMs - 1);
        if (viewers !== undefined) bucket.viewers = viewers;
        const step = detectInBucket(state, bucket, this.settings);
        if (step.detection) highlights.push(highlightFromDetection(streamId, step.detection, this.settings, wallNowMs));
        state = step.state;
      }
      this.states.set(streamId, state);
    }
    return { highlights, bucketsClosed };
  }
}
