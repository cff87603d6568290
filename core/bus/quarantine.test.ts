import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { BusBackpressureError, BusUnavailableError, type MessageBatch } from './bus.ts';
import { EmbeddedBus } from './embedded-bus.ts';
import { describeQuarantine } from './quarantine.contract.ts';
import {
  backoffMs,
  classifyFailure,
  DEFAULT_QUARANTINE_POLICY,
  settleBatch,
  splitBatch,
  type QuarantineOutcome,
} from './quarantine.ts';

const withCode = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

describe('classifyFailure', () => {
  it.each<[string, unknown, 'transient' | 'deterministic']>([
    ['connection refused', withCode('connect ECONNREFUSED 127.0.0.1:8123', { code: 'ECONNREFUSED' }), 'transient'],
    ['connection reset', withCode('read ECONNRESET', { code: 'ECONNRESET' }), 'transient'],
    ['a DNS failure', withCode('getaddrinfo EAI_AGAIN clickhouse', { code: 'EAI_AGAIN' }), 'transient'],
    [
      'undici giving up on headers',
      withCode('Headers Timeout Error', { code: 'UND_ERR_HEADERS_TIMEOUT' }),
      'transient',
    ],
    ['a socket hang-up without a code', new Error('socket hang up'), 'transient'],
    ['a timeout error', withCode('The operation was aborted due to timeout', { name: 'TimeoutError' }), 'transient'],
    ['HTTP 503', withCode('Service Unavailable', { statusCode: 503 }), 'transient'],
    ['HTTP 429', withCode('Too Many Requests', { status: 429 }), 'transient'],
    ['the bus away', new BusUnavailableError('cannot connect to Kafka'), 'transient'],
    [
      'Redis away (ioredis)',
      withCode('Reached the max retries per request limit (which is 20).', { name: 'MaxRetriesPerRequestError' }),
      'transient',
    ],
    ['Redis connection closed (ioredis)', new Error('Connection is closed.'), 'transient'],
    [
      'S3 slowing down (AWS SDK)',
      withCode('Please reduce your request rate.', { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }),
      'transient',
    ],
    ['an OpenAI-compatible endpoint away', withCode('Connection error.', { name: 'APIConnectionError' }), 'transient'],
    [
      'an S3 object missing (AWS SDK)',
      withCode('The specified key does not exist.', { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }),
      'deterministic',
    ],
    ['the bus full', new BusBackpressureError(10, 10), 'transient'],
    [
      'ClickHouse overloaded',
      new ClickHouseError({ message: 'Too many parts', code: '252', type: 'TOO_MANY_PARTS' }),
      'transient',
    ],
    [
      'ClickHouse out of memory',
      new ClickHouseError({ message: 'Memory limit exceeded', code: '241', type: 'MEMORY_LIMIT_EXCEEDED' }),
      'transient',
    ],
    ['Snowflake unreachable', withCode('Network error. Could not reach Snowflake.', { code: 401001 }), 'transient'],
    [
      'a transient cause under a wrapper',
      new Error('Snowflake refused MERGE', { cause: withCode('connect ECONNREFUSED', { code: 'ECONNREFUSED' }) }),
      'transient',
    ],
    [
      'one transient error of several',
      new AggregateError([new Error('x'), withCode('y', { code: 'ETIMEDOUT' })]),
      'transient',
    ],
    [
      'ClickHouse refusing a lone surrogate',
      new ClickHouseError({
        message: 'Cannot parse escape sequence: missing second part of surrogate pair',
        code: '26',
        type: 'CANNOT_PARSE_ESCAPE_SEQUENCE',
      }),
      'deterministic',
    ],
    [
      'ClickHouse refusing a value',
      new ClickHouseError({
        message: "Cannot parse input: expected '\"' before: 'x'",
        code: '27',
        type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
      }),
      'deterministic',
    ],
    [
      'a violated constraint',
      new ClickHouseError({
        message: 'Constraint `poison` for table t is violated',
        code: '469',
        type: 'VIOLATED_CONSTRAINT',
      }),
      'deterministic',
    ],
    ['HTTP 400', withCode('Bad Request', { statusCode: 400 }), 'deterministic'],
    [
      'HTTP 500 (ClickHouse answers most data errors so)',
      withCode('Internal Server Error', { statusCode: 500 }),
      'deterministic',
    ],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'rows')"), 'deterministic'],
    ['a thrown string', 'nope', 'deterministic'],
    [
      'a cause cycle',
      (() => {
        const e = new Error('a') as Error & { cause?: unknown };
        e.cause = e;
        return e;
      })(),
      'deterministic',
    ],
  ])('%s is %s', (_what, error, kind) => {
    expect(classifyFailure(error)).toBe(kind);
  });
});

const batchOf = (offsets: number[]): MessageBatch => ({
  topic: 't',
  partition: 2,
  messages: offsets.map((o) => ({
    topic: 't',
    partition: 2,
    offset: String(o),
    key: 'k',
    value: Buffer.from(`v${o}`),
    headers: {},
    timestamp: 0,
  })),
  firstOffset: String(offsets[0]),
  lastOffset: String(offsets.at(-1)),
});

describe('splitBatch and backoffMs', () => {
  it('splits a batch in halves, each with its own first and last offsets', () => {
    const [left, right] = splitBatch(batchOf([10, 11, 12, 13, 14]));
    expect([left.firstOffset, left.lastOffset, left.messages.length]).toEqual(['10', '12', 3]);
    expect([right.firstOffset, right.lastOffset, right.messages.length]).toEqual(['13', '14', 2]);
  });

  it('doubles the backoff up to its bound', () => {
    expect(
      [1, 2, 3, 4, 5].map((attempt) => backoffMs({ attempts: 9, firstBackoffMs: 100, maxBackoffMs: 500 }, attempt)),
    ).toEqual([100, 200, 400, 500, 500]);
  });
});

describe('settleBatch', () => {
  const policy = { ...DEFAULT_QUARANTINE_POLICY, attempts: 3 };
  const run = (offsets: number[], bad: Set<number>, kind: 'transient' | 'deterministic' = 'deterministic') => {
    const handled: string[] = [];
    const quarantined: QuarantineOutcome[] = [];
    const sleeps: number[] = [];
    const result = settleBatch(batchOf(offsets), {
      handle: (batch) => {
        if (batch.messages.some((m) => bad.has(Number(m.offset)))) return Promise.reject(new Error('refused'));
        handled.push(`${batch.firstOffset}-${batch.lastOffset}`);
        return Promise.resolve();
      },
      policy,
      kindOf: () => Promise.resolve(kind),
      quarantine: (outcome) => {
        quarantined.push(outcome);
        return Promise.resolve();
      },
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    return { result, handled, quarantined, sleeps };
  };

  it.each<[string, number[], number[], string[], number[]]>([
    ['a good batch lands at its first try', [0, 1, 2, 3], [], ['0-3'], []],
    ['one bad message in the middle', [0, 1, 2, 3, 4, 5, 6, 7], [5], ['0-3', '4-4', '6-7'], [5]],
    ['the first message bad', [0, 1, 2], [0], ['1-1', '2-2'], [0]],
    ['two bad messages', [0, 1, 2, 3], [1, 2], ['0-0', '3-3'], [1, 2]],
    ['a batch of one bad message', [9], [9], [], [9]],
  ])('%s', async (_what, offsets, bad, handled, quarantinedOffsets) => {
    const outcome = run(offsets, new Set(bad));
    await outcome.result;
    expect(outcome.handled).toEqual(handled);
    expect(outcome.quarantined.map((q) => Number(q.message.offset))).toEqual(quarantinedOffsets);
    expect(outcome.quarantined.every((q) => q.attempts === policy.attempts)).toBe(true);
  });

  it('backs off between tries of the same batch', async () => {
    const outcome = run([7], new Set([7]));
    await outcome.result;
    expect(outcome.sleeps).toEqual([200, 400]);
  });

  it('tries the delivered batch and the single bad message `attempts` times, the halves between once', async () => {
    const outcome = run([0, 1, 2, 3, 4, 5, 6, 7], new Set([5]));
    await outcome.result;
    // 0-7 three times; halves 0-3 (lands), 4-7 once; 4-5 once; 4 lands; 5 three times; 6-7 lands.
    expect(outcome.sleeps).toEqual([200, 400, 200, 400]);
  });

  it('rethrows a transient failure at once, for the bus to redeliver, and quarantines nothing', async () => {
    const outcome = run([0, 1, 2], new Set([1]), 'transient');
    await expect(outcome.result).rejects.toThrow('refused');
    expect(outcome.quarantined).toEqual([]);
    expect(outcome.sleeps).toEqual([]);
  });
});

describeQuarantine(
  'embedded',
  () =>
    new EmbeddedBus({
      defaultPartitions: 1,
      maxRetainedMessages: 100_000,
      publish: { lingerMs: 1, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
      retryBackoffMs: 20,
    }),
);
