import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { deadLetterMessage } from '../dead-letters.ts';
import type { Metrics } from '../metrics.ts';
import { TOPICS } from '../topics.ts';
import {
  BusBackpressureError,
  BusUnavailableError,
  forwardingBus,
  type Bus,
  type DeliveredMessage,
  type MessageBatch,
  type SubscribeOptions,
} from './bus.ts';

/**
 * The consumer side of "one bad message never stalls a pipeline", once for every consumer: the
 * platform wraps its bus with {@link withQuarantine}, so every batch handler a service subscribes
 * is run through {@link settleBatch}. The semantics are stated in bus.ts's port comment.
 *
 * Telling failures apart: {@link classifyFailure} reads the error (and its causes) for what
 * says "the dependency is away"; for anything else the subscription's `dependencyCheck`, when it
 * has one, is asked whether the dependency answers. A transient failure is rethrown to the bus,
 * which redelivers the batch after its own backoff, for as long as it takes. A deterministic one
 * is retried `attempts` times with doubling backoff, then the batch is split in halves, each
 * settled the same way (one try each), so the good half lands at its first try and only the
 * message that fails alone is quarantined, after `attempts` tries of its own. Sub-batches keep their messages' offsets, so a sink's insert token built
 * from first/last offsets is the same on every redelivery of the same batch.
 */
export interface QuarantinePolicy {
  /** Tries of a failing batch as delivered, and of the single message it is narrowed to, before it is split or quarantined. */
  attempts: number;
  /** Pause before the second try; doubles for each further one, up to `maxBackoffMs`. */
  firstBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_QUARANTINE_POLICY: QuarantinePolicy = { attempts: 3, firstBackoffMs: 200, maxBackoffMs: 2_000 };

export type FailureKind = 'transient' | 'deterministic';

/** Node and undici error codes of a peer that is down, unreachable or slow. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** ClickHouse error types (`ClickHouseError.type`) that say the server is busy, away or out of resources, not that the data is wrong. */
const TRANSIENT_CLICKHOUSE_TYPES = new Set([
  'TIMEOUT_EXCEEDED',
  'SOCKET_TIMEOUT',
  'NETWORK_ERROR',
  'TOO_MANY_SIMULTANEOUS_QUERIES',
  'TOO_MANY_PARTS',
  'MEMORY_LIMIT_EXCEEDED',
  'TABLE_IS_READ_ONLY',
  'CANNOT_SCHEDULE_TASK',
  'ALL_CONNECTION_TRIES_FAILED',
  'KEEPER_EXCEPTION',
  'UNKNOWN_STATUS_OF_INSERT',
  'QUERY_WAS_CANCELLED',
  'ABORTED',
  'CANNOT_OPEN_FILE',
]);

/** HTTP answers of a dependency that is overloaded or away. */
const TRANSIENT_STATUSES = new Set([408, 429, 502, 503, 504]);

/**
 * What drivers without codes say: snowflake-sdk "Network error. Could not reach Snowflake.",
 * ioredis "Connection is closed." and "Reached the max retries per request limit".
 */
const TRANSIENT_MESSAGE =
  /ECONNREFUSED|ECONNRESET|socket hang up|network error|connection (?:refused|reset|closed|terminated)|connection is closed|max retries per request|other side closed|timed out|timeout|service unavailable|temporarily unavailable/i;

/** Error classes of the drivers in use that only ever mean "away" (the AWS SDK's, kafkajs's, openai's, ioredis's). */
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  'SnowflakeUnavailableError',
  'ConnectionTimeoutError',
  'APIConnectionError',
  'APIConnectionTimeoutError',
  'MaxRetriesPerRequestError',
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError',
]);

/** The error and its causes (`cause`, AggregateError's `errors`), breadth first, a bounded number. */
function causes(error: unknown): unknown[] {
  const seen: unknown[] = [];
  const queue = [error];
  while (queue.length > 0 && seen.length < 16) {
    const next = queue.shift();
    if (next === undefined || next === null || seen.includes(next)) continue;
    seen.push(next);
    if (typeof next === 'object') {
      const { cause, errors } = next as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
    }
  }
  return seen;
}

/** Whether an error says the dependency is away (transient) or says nothing of the kind (deterministic). */
export function classifyFailure(error: unknown): FailureKind {
  for (const candidate of causes(error)) {
    if (candidate instanceof BusUnavailableError || candidate instanceof BusBackpressureError) return 'transient';
    if (typeof candidate !== 'object' || candidate === null) continue;
    const { code, type, name, message, status, statusCode, $metadata } = candidate as Record<string, unknown>;
    const httpStatusCode = ($metadata as { httpStatusCode?: unknown } | undefined)?.httpStatusCode;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return 'transient';
    if (typeof type === 'string' && TRANSIENT_CLICKHOUSE_TYPES.has(type)) return 'transient';
    if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return 'transient';
    if ([status, statusCode, httpStatusCode].some((s) => typeof s === 'number' && TRANSIENT_STATUSES.has(s)))
      return 'transient';
    if (typeof message === 'string' && TRANSIENT_MESSAGE.test(message)) return 'transient';
  }
  return 'deterministic';
}

/** Backoff before try `attempt + 1`. */
export function backoffMs(policy: QuarantinePolicy, attempt: number): number {
  return Math.min(policy.firstBackoffMs * 2 ** (attempt - 1), policy.maxBackoffMs);
}

/** The two halves of a batch, each with its own first and last offsets. */
export function splitBatch(batch: MessageBatch): [MessageBatch, MessageBatch] {
  const middle = Math.ceil(batch.messages.length / 2);
  const part = (messages: DeliveredMessage[]): MessageBatch => ({
    topic: batch.topic,
    partition: batch.partition,
    messages,
    firstOffset: messages[0]!.offset,
    lastOffset: messages[messages.length - 1]!.offset,
    endOffset: batch.endOffset,
  });
  return [part(batch.messages.slice(0, middle)), part(batch.messages.slice(middle))];
}

export interface QuarantineOutcome {
  message: DeliveredMessage;
  error: unknown;
  attempts: number;
}

export interface SettleOptions {
  handle: (batch: MessageBatch) => Promise<void>;
  policy: QuarantinePolicy;
  /** Decides a failure's kind (classification, then the dependency check). */
  kindOf: (error: unknown) => Promise<FailureKind>;
  /** Moves a message out of the way; must resolve only once that is durable. */
  quarantine: (outcome: QuarantineOutcome) => Promise<void>;
  onRetry?: (batch: MessageBatch, error: unknown, attempt: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Handles a batch so that a deterministic failure costs only the message that causes it. Rejects
 * only with a transient failure (or one from quarantining), which the bus answers by redelivery.
 *
 * The batch as delivered, and the single message it is narrowed to, get `attempts` tries with
 * backoff; the halves in between get one each: the failure is known to be deterministic by then,
 * and the bisection stays short (a Kafka member runs it without a heartbeat).
 */
export async function settleBatch(
  batch: MessageBatch,
  options: SettleOptions,
  tries = options.policy.attempts,
): Promise<void> {
  const pause = options.sleep ?? sleep;
  const allowed = batch.messages.length === 1 ? options.policy.attempts : tries;
  for (let attempt = 1; ; attempt++) {
    try {
      await options.handle(batch);
      return;
    } catch (error) {
      if ((await options.kindOf(error)) === 'transient') throw error;
      options.onRetry?.(batch, error, attempt);
      if (attempt < allowed) {
        await pause(backoffMs(options.policy, attempt));
        continue;
      }
      if (batch.messages.length === 1) {
        await options.quarantine({ message: batch.messages[0]!, error, attempts: attempt });
        return;
      }
      // In order, so a sink sees its partition's offsets rise as ever.
      for (const half of splitBatch(batch)) await settleBatch(half, options, 1);
      return;
    }
  }
}

const describeError = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * Wraps a bus so that every subscription made through it settles its batches with
 * {@link settleBatch}; the returned bus is otherwise the same. Quarantined messages go to
 * `dead-letters`; one from `dead-letters` itself stays where it is (a letter about a letter would
 * loop) and is only counted and logged.
 */
export function withQuarantine(
  bus: Bus,
  {
    metrics,
    logger,
    policy = DEFAULT_QUARANTINE_POLICY,
  }: { metrics: Metrics; logger: Logger; policy?: QuarantinePolicy },
): Bus {
  const quarantined = metrics.counter(
    'bus_quarantined_messages_total',
    'Messages a consumer group could not handle after its retries, moved to dead-letters (core/bus/quarantine.ts)',
    ['group', 'topic'],
  );
  const failures = metrics.counter(
    'bus_handler_failures_total',
    'Failed batch handler runs, by kind: transient (redelivered until the dependency is back) or deterministic (retried, then quarantined)',
    ['group', 'topic', 'kind'],
  );

  const settled = (options: SubscribeOptions): SubscribeOptions => {
    // A manual-commit consumer replays from its own checkpoint, which a skipped offset would break.
    if (options.commit === 'manual') return options;
    const group = options.groupId;
    const kindOf = async (error: unknown): Promise<FailureKind> => {
      let kind = classifyFailure(error);
      if (kind === 'deterministic' && options.dependencyCheck)
        kind = await options.dependencyCheck().then(
          () => 'deterministic' as const,
          () => 'transient' as const,
        );
      return kind;
    };
    const quarantine = async ({ message, error, attempts }: QuarantineOutcome) => {
      const origin = `${message.topic}/${message.partition}/${message.offset}`;
      const reason = `quarantined by ${group} after ${attempts} attempts: ${describeError(error)}`;
      if (message.topic === TOPICS.deadLetters) {
        logger.error(
          { err: error, group, origin },
          'a dead letter could not be handled; it stays on dead-letters and the group moves on',
        );
      } else {
        const quarantine = {
          consumerGroup: group,
          partition: message.partition,
          offset: message.offset,
          key: message.key,
          attempts,
          headers: message.headers,
        };
        await bus.publish(TOPICS.deadLetters, [
          deadLetterMessage({ sourceTopic: message.topic, payload: message.value, reason, origin, quarantine }),
        ]);
        logger.error(
          { err: error, group, origin, attempts },
          'message quarantined on dead-letters; the partition goes on',
        );
      }
      quarantined.inc({ group, topic: message.topic });
    };
    return {
      ...options,
      handleBatch: (batch) =>
        settleBatch(batch, {
          handle: options.handleBatch,
          policy,
          kindOf: async (error) => {
            const kind = await kindOf(error);
            failures.inc({ group, topic: batch.topic, kind });
            return kind;
          },
          quarantine,
          onRetry: (failed, error, attempt) =>
            logger.warn(
              {
                err: error,
                group,
                topic: failed.topic,
                partition: failed.partition,
                firstOffset: failed.firstOffset,
                lastOffset: failed.lastOffset,
                attempt,
              },
              'batch failed deterministically',
            ),
        }),
    };
  };

  return forwardingBus(bus, { subscribe: (options) => bus.subscribe(settled(options)) });
}
