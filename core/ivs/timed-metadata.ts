import { setTimeout as sleep } from 'node:timers/promises';
import { ChannelNotBroadcasting, ResourceNotFoundException, ThrottlingException } from '@aws-sdk/client-ivs';
import type { LiveState } from '../live-state/live-state.ts';
import type { Logger } from '../logger.ts';
import {
  PUT_METADATA_MAX_BYTES,
  PUT_METADATA_MAX_PER_SECOND_PER_ACCOUNT,
  PUT_METADATA_MAX_PER_SECOND_PER_CHANNEL,
  TimedMetadataTooLargeError,
} from './ivs-control-plane.ts';
import { parseChannelArn } from './recording-layout.ts';

/**
 * Packs as many items as fit into one PutMetadata payload, always a JSON array so players parse
 * one shape. AWS recommends batching because of the per-channel rate limit.
 */
export function packTimedMetadata(
  items: readonly unknown[],
  maxBytes = PUT_METADATA_MAX_BYTES,
): { payload: string; count: number } {
  if (items.length === 0) throw new RangeError('packTimedMetadata needs at least one item');
  let payload = '';
  let count = 0;
  for (let n = 1; n <= items.length; n++) {
    const candidate = JSON.stringify(items.slice(0, n));
    if (Buffer.byteLength(candidate, 'utf8') > maxBytes) break;
    payload = candidate;
    count = n;
  }
  if (count === 0) throw new TimedMetadataTooLargeError(Buffer.byteLength(JSON.stringify(items.slice(0, 1)), 'utf8'));
  return { payload, count };
}

export interface TimedMetadataPublisherOptions {
  putMetadata: (channelArn: string, payload: string) => Promise<void>;
  /** Shared rate limits (Redis in distributed mode), so every worker together stays within IVS's. */
  liveState: LiveState;
  logger: Logger;
  /** Sends of one batch before it is dropped (markers are best effort). */
  maxAttempts?: number;
  onOutcome?: (outcome: 'sent' | 'dropped') => void;
}

/**
 * The rate window the limiter counts in: longer than IVS's one second, because calls paced
 * exactly 200 ms apart can arrive closer together after network jitter and be throttled.
 */
const PACING_WINDOW_MS = 1_200;

/**
 * Best-effort timed metadata per channel: queued, batched up to 1 KB, paced to 5 calls per
 * second per channel and 155 per account across all workers. A channel that is not
 * broadcasting (the stream ended) drops its queue; nothing here ever fails a caller.
 */
export class TimedMetadataPublisher {
  private readonly queues = new Map<string, unknown[]>();
  private readonly draining = new Map<string, Promise<void>>();

  constructor(private readonly options: TimedMetadataPublisherOptions) {}

  enqueue(channelArn: string, item: unknown): void {
    const queue = this.queues.get(channelArn);
    if (queue) {
      queue.push(item);
      return;
    }
    const fresh = [item];
    this.queues.set(channelArn, fresh);
    // Started on the next microtask, so the entry exists before the drain can remove it.
    this.draining.set(
      channelArn,
      Promise.resolve().then(() => this.drain(channelArn, fresh)),
    );
  }

  /** Resolves when every queued item was sent or dropped. */
  async flush(): Promise<void> {
    while (this.draining.size > 0) await Promise.all([...this.draining.values()]);
  }

  private async waitForSlot(channelArn: string): Promise<void> {
    const account = parseChannelArn(channelArn)?.accountId ?? 'unknown';
    for (;;) {
      const channel = await this.options.liveState.consumeRate(
        `ivs:put-metadata:channel:${channelArn}`,
        PUT_METADATA_MAX_PER_SECOND_PER_CHANNEL,
        PACING_WINDOW_MS,
      );
      if (channel.allowed) {
        const accountWide = await this.options.liveState.consumeRate(
          `ivs:put-metadata:account:${account}`,
          PUT_METADATA_MAX_PER_SECOND_PER_ACCOUNT,
          PACING_WINDOW_MS,
        );
        if (accountWide.allowed) return;
        await sleep(Math.max(accountWide.retryAfterMs, 10));
      } else {
        await sleep(Math.max(channel.retryAfterMs, 10));
      }
    }
  }

  /** Runs until the channel's queue is empty, then forgets it, so a later enqueue starts a new drain. */
  private async drain(channelArn: string, queue: unknown[]): Promise<void> {
    const { logger } = this.options;
    try {
      await this.send(channelArn, queue);
    } catch (error) {
      logger.warn(
        { err: error, channelArn, dropped: queue.length },
        'timed metadata could not be paced (live state unavailable); dropped',
      );
      for (let i = 0; i < queue.length; i++) this.options.onOutcome?.('dropped');
      queue.length = 0;
    } finally {
      this.queues.delete(channelArn);
      this.draining.delete(channelArn);
      // Items enqueued between the last send and here start a drain of their own.
      for (const item of queue.splice(0)) this.enqueue(channelArn, item);
    }
  }

  private async send(channelArn: string, queue: unknown[]): Promise<void> {
    const { logger, maxAttempts = 3, onOutcome } = this.options;
    while (queue.length > 0) {
      let batch: { payload: string; count: number };
      try {
        batch = packTimedMetadata(queue);
      } catch (error) {
        logger.warn({ err: error, channelArn }, 'timed metadata item is larger than PutMetadata allows; dropped');
        queue.shift();
        onOutcome?.('dropped');
        continue;
      }
      for (let attempt = 1; ; attempt++) {
        await this.waitForSlot(channelArn);
        try {
          await this.options.putMetadata(channelArn, batch.payload);
          queue.splice(0, batch.count);
          for (let i = 0; i < batch.count; i++) onOutcome?.('sent');
          break;
        } catch (error) {
          if (error instanceof ChannelNotBroadcasting || error instanceof ResourceNotFoundException) {
            logger.info(
              { channelArn, dropped: queue.length, reason: error.name },
              'channel is not broadcasting; timed metadata dropped',
            );
            for (let i = 0; i < queue.length; i++) onOutcome?.('dropped');
            queue.length = 0;
            break;
          }
          if (attempt >= maxAttempts) {
            logger.warn(
              { err: error, channelArn, attempts: attempt },
              'PutMetadata kept failing; timed metadata dropped',
            );
            queue.splice(0, batch.count);
            for (let i = 0; i < batch.count; i++) onOutcome?.('dropped');
            break;
          }
          // Throttled despite the shared limiter (another client on the account): back off longer.
          await sleep(error instanceof ThrottlingException ? 1_000 * attempt : 200 * attempt);
        }
      }
    }
  }
}
