import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { startPlatform, type RunningPlatform } from '../core/platform.ts';
import type { PlayerEvent } from '../core/schemas/player-event.ts';
import { TOPICS } from '../core/topics.ts';
import { testServices } from '../test/services.ts';
import { waitFor } from '../test/wait-for.ts';
import { samplePlayerEvent } from './events/sample-player-events.ts';
import { IVS_SECRET_HEADER } from './ivs/ivs-route.ts';
import { ingestApiService } from './service.ts';
import { rawRequest } from './testing/raw-http.ts';

/**
 * The collector under fire, through the platform, on the real Kafka broker and Redis: well over
 * a thousand malformed or hostile requests mixed with valid batches. Every bad request gets a 4xx
 * with a reason, the process keeps serving, its heap stays bounded, and every valid event sent
 * in the run is on the topic exactly once (checked by consuming it).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const HOSTILE_ROUNDS = 1_100;
const VALID_BATCHES = 250;
const MIXED_BATCHES = 60;
const BODY_TIMEOUT_MS = 1_000;
const MAX_BODY_BYTES = 512 * 1024;

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

const writeKey = `wk_fuzz_${randomUUID()}`;
const property = `fuzz${randomUUID().slice(0, 8)}`;
const topicPrefix = `fuzz-${randomUUID().slice(0, 8)}.`;
let platform: RunningPlatform;
let base: string;
let port: number;
let dataDir: string;
const database = `ingest_fuzz_${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  const services = testServices();
  dataDir = await mkdtemp(join(tmpdir(), 'livepulse-fuzz-'));
  const config = loadConfig({
    PORT: '0',
    LIVEPULSE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: services.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_PARTITIONS: '3',
    REDIS_URL: services.redisUrl,
    CLICKHOUSE_URL: services.clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    LIVEPULSE_WRITE_KEYS: `${property}:${writeKey}`,
    LIVEPULSE_JWT_SECRET: 'j'.repeat(32),
    LIVEPULSE_IVS_WEBHOOK_SECRET: 'ivs-fuzz-secret-0123',
    INGEST_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
    INGEST_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
  });
  platform = await startPlatform(config, [ingestApiService], pino({ level: 'silent' }));
  base = platform.url;
  port = Number(new URL(base).port);
}, 120_000);

afterAll(async () => {
  await platform?.context.analytics.client
    .command({ query: `DROP DATABASE IF EXISTS ${database}` })
    .catch(() => undefined);
  await platform?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
  retryAfter?: string;
}

async function send(path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  return {
    status: response.status,
    body: await response.text(),
    retryAfter: response.headers.get('retry-after') ?? undefined,
  };
}

const eventsPath = `/v1/events?key=${writeKey}`;
const json = { 'content-type': 'application/json' };

/** A valid batch is sent until the collector takes it (503 asks for a retry), as the SDK does. */
async function sendUntilAccepted(body: string): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await send(eventsPath, body, {
      'content-type': pick(['application/json', 'text/plain;charset=UTF-8']),
    });
    if (answer.status !== 503 || attempt > 20) return answer;
    await sleep(Number(answer.retryAfter ?? 1) * 100);
  }
}

const expected = new Set<string>();
function validEvents(count: number): PlayerEvent[] {
  const now = Date.now();
  return Array.from({ length: count }, () => {
    const event = samplePlayerEvent(
      {
        view_id: `fv-${int(1, 400)}`,
        view_seq: int(0, 10_000),
        viewer_time: now - int(0, 60_000),
        event: pick(['heartbeat', 'playing', 'pause', 'viewstart'] as const),
      },
      now,
    );
    expected.add(event.event_id);
    return event;
  });
}

type Hostile = { name: string; run: () => Promise<Answer> };
const valid = () => samplePlayerEvent();
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Bad requests, each of which must be refused as a whole with a 4xx and a reason. */
const hostile: Array<() => Hostile> = [
  () => ({
    name: 'truncated JSON',
    run: () => send(eventsPath, JSON.stringify({ events: [valid()] }).slice(0, int(1, 60)), json),
  }),
  () => ({
    name: 'random bytes',
    run: () => send(eventsPath, Buffer.from(Array.from({ length: int(1, 2_000) }, () => int(0, 255))), json),
  }),
  () => ({
    name: 'invalid UTF-8',
    run: () =>
      send(
        eventsPath,
        Buffer.concat([Buffer.from('{"events":[{"view_id":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]}')]),
        json,
      ),
  }),
  () => ({ name: 'NaN literal', run: () => send(eventsPath, `{"events":[{"view_seq":NaN}]}`, json) }),
  () => ({
    name: 'wrong types',
    run: () =>
      send(
        eventsPath,
        JSON.stringify({ events: [{ ...valid(), view_seq: 'one', counters: [1, 2], event: 42 }] }),
        json,
      ),
  }),
  () => ({
    name: 'events not a list',
    run: () => send(eventsPath, JSON.stringify({ events: pick([{}, 'x', 5, null, true]) }), json),
  }),
  () => ({
    name: 'no events',
    run: () => send(eventsPath, pick(['{}', '{"events":[]}', '[]', 'null', '"text"', '12']), json),
  }),
  () => ({
    name: 'huge string',
    run: () =>
      send(eventsPath, JSON.stringify({ events: [{ ...valid(), view_id: 'v'.repeat(int(200, 200_000)) }] }), json),
  }),
  () => ({
    name: 'over the body limit',
    run: () =>
      send(eventsPath, JSON.stringify({ events: [valid()], pad: 'x'.repeat(MAX_BODY_BYTES + int(1, 100_000)) }), json),
  }),
  () => ({
    name: 'too many events',
    run: () => send(eventsPath, JSON.stringify({ events: Array.from({ length: int(301, 1_000) }, () => 1) }), json),
  }),
  () => ({
    name: 'huge array of junk events',
    run: () => send(eventsPath, JSON.stringify({ events: Array.from({ length: 300 }, () => int(0, 9)) }), json),
  }),
  () => ({ name: 'deep nesting', run: () => send(eventsPath, `{"events":[${deep(int(1_000, 100_000))}]}`, json) }),
  () => ({
    name: '__proto__ key',
    run: () =>
      send(eventsPath, `{"events":[{"__proto__":{"admin":true},"view_id":"x"}]}`, { 'content-type': 'text/plain' }),
  }),
  () => ({
    name: 'escaped __proto__ key',
    run: () => send(eventsPath, `{"events":[{"dimensions":{"\\u005f_proto__":{"x":1}}}]}`, json),
  }),
  () => ({
    name: 'constructor.prototype',
    run: () => send(eventsPath, `{"events":[{"constructor":{"prototype":{"polluted":1}}}]}`, json),
  }),
  () => ({
    name: 'absurd numbers',
    run: () =>
      send(
        eventsPath,
        JSON.stringify({
          events: [
            {
              ...valid(),
              counters: {
                watch_ms: pick([-1, 1e308, 2 ** 53 + 1, 0.5]),
                playing_ms: 0,
                rebuffer_count: -3,
                rebuffer_ms: 0,
              },
            },
          ],
        }),
        json,
      ),
  }),
  () => ({
    name: 'far-future timestamp',
    run: () =>
      send(
        eventsPath,
        JSON.stringify({ events: [{ ...valid(), viewer_time: Date.now() + int(2, 1_000) * 3_600_000 }] }),
        json,
      ),
  }),
  () => ({
    name: 'far-past timestamp',
    run: () =>
      send(
        eventsPath,
        JSON.stringify({ events: [{ ...valid(), viewer_time: Date.now() - int(2, 900) * 86_400_000 }] }),
        json,
      ),
  }),
  () => ({
    name: 'timestamp in seconds',
    run: () =>
      send(eventsPath, JSON.stringify({ events: [{ ...valid(), viewer_time: Math.floor(Date.now() / 1000) }] }), json),
  }),
  () => ({
    name: 'wrong content type',
    run: () =>
      send(eventsPath, JSON.stringify({ events: [valid()] }), {
        'content-type': pick([
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'image/png',
          'application/cmcd',
        ]),
      }),
  }),
  () => ({ name: 'no write key', run: () => send('/v1/events', JSON.stringify({ events: [valid()] }), json) }),
  () => ({
    name: 'wrong write key',
    run: () => send(`/v1/events?key=${randomUUID()}`, JSON.stringify({ events: [valid()] }), json),
  }),
  () => ({
    name: 'malformed Authorization',
    run: () =>
      send('/v1/events', JSON.stringify({ events: [valid()] }), {
        ...json,
        authorization: pick(['Basic eDp5', 'Bearer', writeKey, `Bearer ${'k'.repeat(5_000)}`]),
      }),
  }),
  () => ({
    name: 'CMCD garbage',
    run: () =>
      send(
        `/v1/cmcd?key=${writeKey}`,
        pick(['e=ps', 'sid=1,ts=1,v=2', '%%%%', '__proto__=1', `e=t,sid="${'s'.repeat(10_000)}"`]),
        { 'content-type': 'application/cmcd' },
      ),
  }),
  () => ({ name: 'CMCD as JSON', run: () => send(`/v1/cmcd?key=${writeKey}`, '{"sid":"x"}', json) }),
  () => ({ name: 'IVS without secret', run: () => send('/v1/ivs/events', '{"source":"aws.ivs"}', json) }),
  () => ({
    name: 'IVS garbage',
    run: () =>
      send('/v1/ivs/events', pick(['{"source":"aws.ivs"}', '[]', '{"id":1}', 'nope']), {
        ...json,
        [IVS_SECRET_HEADER]: 'ivs-fuzz-secret-0123',
      }),
  }),
  () => ({
    name: 'Content-Length that lies high',
    run: () =>
      rawRequest(port, head(eventsPath, 'application/json', 50_000_000), { chunks: [Buffer.from('{"events":[]}')] }),
  }),
  () => ({
    name: 'Content-Length that lies low',
    run: () =>
      rawRequest(port, head(eventsPath, 'application/json', 5), {
        chunks: [Buffer.from(JSON.stringify({ events: [valid()] }))],
      }),
  }),
];

function head(path: string, contentType: string, length: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
}

/** Slow bodies occupy a socket for the body timeout each, so a few run beside the rest. */
const slowBody = (): Hostile => ({
  name: 'slow body',
  run: () =>
    rawRequest(
      port,
      head(eventsPath, 'application/json', 5_000),
      { chunks: [Buffer.from('{"events":[')], pauseAfterMs: BODY_TIMEOUT_MS * 3 },
      { timeoutMs: 15_000 },
    ),
});

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('the collector under hostile input (fuzz, seed printed in the test name)', () => {
  it(`refuses every bad request with a reason and stores every valid event exactly once (seed ${SEED})`, async () => {
    // Warm up (JIT, connection pools, compiled schemas) before the heap baseline.
    for (let i = 0; i < 30; i++)
      expect((await sendUntilAccepted(JSON.stringify({ events: validEvents(5) }))).status).toBe(202);
    const heapBefore = heapUsed();

    type Job =
      | { kind: 'hostile'; make: () => Hostile }
      | { kind: 'valid' }
      | { kind: 'mixed' }
      | { kind: 'duplicate'; body: string };
    const jobs: Job[] = [
      ...Array.from({ length: HOSTILE_ROUNDS }, (_, i) => ({
        kind: 'hostile' as const,
        make: hostile[i % hostile.length]!,
      })),
      ...Array.from({ length: 20 }, () => ({ kind: 'hostile' as const, make: slowBody })),
      ...Array.from({ length: VALID_BATCHES }, () => ({ kind: 'valid' as const })),
      ...Array.from({ length: MIXED_BATCHES }, () => ({ kind: 'mixed' as const })),
    ];
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }

    const failures: string[] = [];
    const hostileStatuses = new Map<string, Set<number>>();
    let hostileCount = 0;
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        if (job.kind === 'hostile') {
          const { name, run } = job.make();
          hostileCount++;
          const answer = await run();
          hostileStatuses.set(name, (hostileStatuses.get(name) ?? new Set()).add(answer.status));
          let reason: unknown;
          try {
            reason = JSON.parse(answer.body);
          } catch {
            reason = undefined;
          }
          const { error, message } = (reason ?? {}) as { error?: string; message?: string };
          if (answer.status < 400 || answer.status >= 500 || !error || !message)
            failures.push(`${name}: ${answer.status} ${answer.body.slice(0, 200)}`);
        } else if (job.kind === 'valid' || job.kind === 'duplicate') {
          const body =
            job.kind === 'duplicate'
              ? job.body
              : JSON.stringify({ metadata: { sdk: 'fuzz', sent_at: Date.now() }, events: validEvents(int(1, 20)) });
          const answer = await sendUntilAccepted(body);
          if (answer.status !== 202) failures.push(`valid batch: ${answer.status} ${answer.body.slice(0, 200)}`);
          // A third of the valid batches are retried as a client would after a lost answer.
          if (job.kind === 'valid' && random() < 0.33) jobs.push({ kind: 'duplicate', body });
        } else {
          const good = validEvents(int(1, 10));
          const bad = [{ event: 'teleport' }, 'string', { ...valid(), viewer_time: 5 }, { ...valid(), counters: null }];
          const events = [...good, ...bad.slice(0, int(1, 4))].sort(() => random() - 0.5);
          const answer = await sendUntilAccepted(JSON.stringify({ events }));
          const parsed = JSON.parse(answer.body) as { accepted?: number; rejected?: unknown[] };
          if (
            answer.status !== 202 ||
            parsed.accepted !== good.length ||
            parsed.rejected?.length !== events.length - good.length
          ) {
            failures.push(`mixed batch: ${answer.status} ${answer.body.slice(0, 300)}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));

    expect(failures).toEqual([]);
    expect(hostileCount).toBeGreaterThanOrEqual(1_000);
    expect(hostileStatuses.get('slow body')).toEqual(new Set([408]));
    expect(hostileStatuses.get('over the body limit')).toEqual(new Set([413]));
    expect(hostileStatuses.get('too many events')).toEqual(new Set([413]));

    // Still serving, and the heap went back to about where it was.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const growthMb = (heapUsed() - heapBefore) / 1024 / 1024;
    expect(growthMb).toBeLessThan(48);

    // Every valid event is on the topic exactly once, and nothing else is.
    const seen = new Map<string, number>();
    const kafka = new Kafka({
      clientId: 'fuzz-check',
      brokers: [testServices().kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: `fuzz-check-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [`${topicPrefix}${TOPICS.playerEvents}`], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const id = (JSON.parse(message.value!.toString('utf8')) as { event_id: string }).event_id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        return Promise.resolve();
      },
    });
    try {
      await waitFor('every valid event on the topic', () => [...expected].every((id) => seen.has(id)), {
        timeoutMs: 90_000,
        intervalMs: 250,
      });
      await sleep(2_000);
    } finally {
      await consumer.disconnect();
    }
    const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
    const unexpected = [...seen.keys()].filter((id) => !expected.has(id));
    expect(duplicated).toEqual([]);
    expect(unexpected).toEqual([]);
    expect(seen.size).toBe(expected.size);
  }, 300_000);
});
