import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BusBackpressureError, BusUnavailableError } from '../../core/bus/bus.ts';
import { DEAD_LETTER_HEADERS } from '../../core/dead-letters.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import type { LiveState } from '../../core/live-state/live-state.ts';
import { PLAYER_EVENT_SCHEMA_HEADER, VALIDATED_PLAYER_EVENT_SCHEMA } from '../../core/schemas/player-event-message.ts';
import { MemoryLiveState } from '../../core/live-state/memory-live-state.ts';
import { PlayerEvent } from '../../core/schemas/player-event.ts';
import { TOPICS } from '../../core/topics.ts';
import { waitFor } from '../../test/wait-for.ts';
import { controllableBus, type ControllableBus } from '../testing/controllable-bus.ts';
import { startTestCollector, TEST_PROPERTY, TEST_WRITE_KEY, type TestCollector } from '../testing/test-collector.ts';
import { samplePlayerEvent, samplePlayerEvents } from './sample-player-events.ts';
import type { RejectedEvent } from './validate-batch.ts';

/** The collector's answer to a batch (events-route.ts). */
interface BatchAnswer {
  accepted: number;
  rejected: Array<Pick<RejectedEvent, 'index' | 'errors'>>;
}

/** The parts of the OpenAPI document this file reads. */
interface PublishedDocument {
  paths: Record<
    string,
    {
      post: {
        security: unknown;
        responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
      };
    }
  >;
  components: {
    schemas: Record<string, { required: string[]; properties: Record<string, { properties?: object }> }>;
    securitySchemes: Record<string, unknown>;
  };
}

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
let collector: TestCollector;

function post(
  body: unknown,
  {
    headers = {},
    query = `key=${TEST_WRITE_KEY}`,
    contentType = 'application/json',
  }: { headers?: Record<string, string>; query?: string; contentType?: string } = {},
) {
  return collector.app.inject({
    method: 'POST',
    url: `/v1/events${query ? `?${query}` : ''}`,
    headers: { 'content-type': contentType, 'user-agent': CHROME, ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

describe('POST /v1/events: whole-request problems', () => {
  beforeAll(async () => {
    collector = await startTestCollector();
  });
  afterAll(() => collector.close());

  it.each([
    ['no key', '', {}, 401, 'unauthorized', /missing write key/],
    ['an unknown key', 'key=nope-nope-nope-nope', {}, 401, 'unauthorized', /unknown write key/],
    ['a malformed Authorization header', '', { authorization: 'Token abc' }, 401, 'unauthorized', /Bearer <write key>/],
  ])('answers %s with 401', async (_what, query, headers, status, error, message) => {
    const response = await post({ events: [samplePlayerEvent()] }, { query, headers });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({
      statusCode: status,
      error,
      message: expect.stringMatching(message) as unknown,
    });
    expect(collector.records(TOPICS.playerEvents)).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"events":[', 'application/json', 400, 'malformed_body', /not valid JSON/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'text/plain', 400, 'malformed_body', /UTF-8/],
    [
      'a __proto__ key',
      '{"events":[{"__proto__":{"admin":true}}]}',
      'text/plain',
      400,
      'malformed_body',
      /forbidden key __proto__/,
    ],
    ['an empty body', '', 'application/json', 400, 'malformed_body', /empty/],
    [
      'no events',
      '{"events":[]}',
      'application/json',
      400,
      'invalid_request',
      /events must NOT have fewer than 1 items/,
    ],
    [
      'events that are not a list',
      '{"events":{"a":1}}',
      'application/json',
      400,
      'invalid_request',
      /events must be array/,
    ],
    ['a JSON array body', '[1,2]', 'application/json', 400, 'invalid_request', /body must be object/],
    ['XML', '<events/>', 'application/xml', 415, 'unsupported_media_type', /application\/xml/],
    ['form data', 'a=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type', /not accepted/],
  ])('answers %s with its status and the reason', async (_what, body, contentType, status, error, message) => {
    const response = await post(body, { contentType });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({
      statusCode: status,
      error,
      message: expect.stringMatching(message) as unknown,
    });
    expect(collector.records(TOPICS.playerEvents)).toEqual([]);
  });
});

describe('POST /v1/events', () => {
  afterEach(() => collector?.close());

  it('stores a valid batch on player.events, keyed by view and enriched, before answering 202', async () => {
    collector = await startTestCollector();
    const now = Date.now();
    // The device clock is a minute behind: its events and its sent_at are a minute early.
    const events = samplePlayerEvents(3, { views: 2, now: now - 60_000 });
    const response = await post(
      { metadata: { sdk: 'livepulse-js/1.0.0', sent_at: now - 60_000 }, events },
      { headers: { 'x-forwarded-for': '203.0.113.77' } },
    );
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });

    const stored = collector.records(TOPICS.playerEvents);
    expect(stored.map((r) => r.value.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    const first = stored.find((r) => r.value.event_id === events[0]!.event_id)!;
    expect(first.key).toBe(events[0]!.view_id);
    // Its readers take the collector's word for it instead of checking it in full again.
    expect(stored.map((r) => r.headers[PLAYER_EVENT_SCHEMA_HEADER])).toEqual(
      stored.map(() => VALIDATED_PLAYER_EVENT_SCHEMA),
    );
    expect(first.value).toMatchObject({
      property_id: TEST_PROPERTY,
      source: 'sdk',
      dimensions: { device: 'desktop', os: 'Linux', browser: 'Chrome', player_name: 'hls.js' },
    });
    expect(first.value.event_time as number).toBeGreaterThanOrEqual(events[0]!.viewer_time + 59_000);
    expect(first.value.event_time as number).toBeLessThanOrEqual(first.value.received_at as number);
    expect(first.value.received_at as number).toBeGreaterThanOrEqual(now);
    expect(first.value.client_ip_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(first.value)).not.toContain('203.0.113');
  });

  it.each([
    ['text/plain (sendBeacon)', 'text/plain;charset=UTF-8'],
    ['JSON with a charset', 'application/json; charset=utf-8'],
  ])('accepts %s', async (_what, contentType) => {
    collector = await startTestCollector();
    const response = await post({ events: [samplePlayerEvent()] }, { contentType });
    expect(response.statusCode).toBe(202);
  });

  it('accepts the write key as a bearer token', async () => {
    collector = await startTestCollector();
    const response = await post(
      { events: [samplePlayerEvent()] },
      { query: '', headers: { authorization: `Bearer ${TEST_WRITE_KEY}` } },
    );
    expect(response.statusCode).toBe(202);
  });

  it('answers 413 for a body over the limit and for more events than a batch may carry', async () => {
    collector = await startTestCollector({ INGEST_MAX_BODY_BYTES: '4096', INGEST_MAX_EVENTS_PER_REQUEST: '5' });
    const big = await post({
      events: [samplePlayerEvent({ dimensions: { custom_1: 'x'.repeat(200) } })],
      pad: 'y'.repeat(5_000),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: 'payload_too_large', message: 'request body is larger than 4096 bytes' });
    const many = await post({ events: samplePlayerEvents(6) });
    expect(many.statusCode).toBe(413);
    expect(many.json()).toMatchObject({ error: 'too_many_events', message: 'a batch carries at most 5 events' });
  });

  it('accepts the valid events of a mixed batch, lists the rejected by index and keeps them on dead-letters', async () => {
    collector = await startTestCollector();
    const good = samplePlayerEvents(2);
    const bad = {
      ...samplePlayerEvent(),
      counters: { watch_ms: -5, playing_ms: 0, rebuffer_count: 0, rebuffer_ms: 0 },
    };
    const response = await post({ events: [good[0], bad, 'nonsense', good[1]] });
    expect(response.statusCode).toBe(202);
    const answer = response.json<BatchAnswer>();
    expect(answer.accepted).toBe(2);
    expect(answer.rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(answer.rejected[0]!.errors[0]).toMatchObject({ path: '/counters/watch_ms' });
    expect(collector.records(TOPICS.playerEvents)).toHaveLength(2);
    const letters = collector.records(TOPICS.deadLetters);
    expect(letters.map((l) => l.value)).toEqual([bad, 'nonsense']);
    expect(letters[0]!.headers[DEAD_LETTER_HEADERS.sourceTopic]).toBe(TOPICS.playerEvents);
    expect((JSON.parse(letters[0]!.headers[DEAD_LETTER_HEADERS.errors]!) as FieldError[])[0]!.path).toBe(
      '/counters/watch_ms',
    );
    expect(letters[0]!.headers[DEAD_LETTER_HEADERS.origin]).toMatch(/index=1/);
  });

  it('answers 400 when no event of the batch is valid, still listing each', async () => {
    collector = await startTestCollector();
    const response = await post({
      events: [{ event: 'play' }, samplePlayerEvent({ viewer_time: Date.now() + 86_400_000 })],
    });
    expect(response.statusCode).toBe(400);
    const answer = response.json<BatchAnswer>();
    expect(answer).toMatchObject({ error: 'no_valid_events' });
    expect(answer.rejected[1]!.errors).toEqual([
      { path: '/viewer_time', message: expect.stringMatching(/in the future/) as unknown },
    ]);
    expect(collector.records(TOPICS.deadLetters)).toHaveLength(2);
  });

  it('stores each event once when a batch is retried', async () => {
    collector = await startTestCollector();
    const events = samplePlayerEvents(4);
    expect((await post({ events })).json()).toMatchObject({ accepted: 4, duplicates: 0 });
    expect((await post({ events: [...events, samplePlayerEvent()] })).json()).toMatchObject({
      accepted: 5,
      duplicates: 4,
    });
    expect(collector.records(TOPICS.playerEvents)).toHaveLength(5);
  });

  it('drops an event repeated within one batch', async () => {
    collector = await startTestCollector();
    const event = samplePlayerEvent();
    expect((await post({ events: [event, event] })).json()).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(collector.records(TOPICS.playerEvents)).toHaveLength(1);
  });

  describe('when the bus cannot take the events', () => {
    let bus: ControllableBus;
    const withControllableBus = () => startTestCollector({}, { bus: (embedded) => (bus = controllableBus(embedded)) });

    it.each([
      ['its buffer is full', () => new BusBackpressureError(100, 100), 'overloaded', '1'],
      ['Kafka is unreachable', () => new BusUnavailableError('no broker'), 'bus_unavailable', '5'],
    ])('answers 503 with Retry-After when %s, and accepts the retry', async (_what, error, code, retryAfter) => {
      collector = await withControllableBus();
      const events = samplePlayerEvents(3);
      bus.failNext(error());
      const refused = await post({ events });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe(retryAfter);
      expect(refused.json()).toMatchObject({ error: code });
      expect(collector.records(TOPICS.playerEvents)).toEqual([]);

      // The failed publish released its claims: the retry is stored, not dropped as a duplicate.
      const retried = await post({ events });
      expect(retried.json()).toMatchObject({ accepted: 3, duplicates: 0 });
      expect(collector.records(TOPICS.playerEvents)).toHaveLength(3);
      const metrics = await collector.metrics.registry.metrics();
      expect(metrics).toMatch(
        /livepulse_ingest_unavailable_total\{route="events",cause="(backpressure|bus_unavailable)"\} 1/,
      );
    });

    it.each([
      ['the late publish succeeds: the retry is a duplicate', false, { accepted: 3, duplicates: 3 }],
      ['the late publish fails: the retry is stored', true, { accepted: 3, duplicates: 0 }],
    ])('answers 503 when the bus is slower than the deadline; %s', async (_what, fails, retried) => {
      collector = await startTestCollector(
        { INGEST_PUBLISH_DEADLINE_MS: '150' },
        { bus: (embedded) => (bus = controllableBus(embedded)) },
      );
      const events = samplePlayerEvents(3);
      const open = bus.hold();
      if (fails) bus.failNext(new BusUnavailableError('gave up'));
      const started = Date.now();
      const slow = await post({ events });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(slow.statusCode).toBe(503);
      expect(slow.headers['retry-after']).toBe('5');
      expect(slow.json()).toMatchObject({ error: 'bus_slow' });
      // Still in flight: a retry now must not be taken for stored.
      expect((await post({ events })).json()).toMatchObject({ error: 'retry' });
      open();
      await sleep(50);
      expect((await post({ events })).json()).toMatchObject(retried);
      expect(collector.records(TOPICS.playerEvents)).toHaveLength(3);
    });

    it('does not answer 202 for a retry while the first attempt is still being stored', async () => {
      collector = await withControllableBus();
      const events = samplePlayerEvents(2);
      const open = bus.hold();
      const first = post({ events });
      await waitFor('the first attempt to reach the bus', () => bus.held > 0);
      const early = await post({ events });
      expect(early.statusCode).toBe(503);
      expect(early.json()).toMatchObject({
        error: 'retry',
        message: expect.stringMatching(/still being stored/) as unknown,
      });
      open();
      expect((await first).statusCode).toBe(202);
      expect((await post({ events })).json()).toMatchObject({ accepted: 2, duplicates: 2 });
      expect(collector.records(TOPICS.playerEvents)).toHaveLength(2);
    });
  });

  it('keeps accepting (without dedupe) when live state fails', async () => {
    const broken = new MemoryLiveState();
    const failing = new Proxy(broken, {
      get(target, property) {
        if (property === 'setManyIfAbsent') return () => Promise.reject(new Error('redis down'));
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as LiveState;
    collector = await startTestCollector({}, { liveState: failing });
    expect((await post({ events: samplePlayerEvents(2) })).statusCode).toBe(202);
    expect(collector.records(TOPICS.playerEvents)).toHaveLength(2);
    expect(await collector.metrics.registry.metrics()).toMatch(
      /livepulse_ingest_dedupe_degraded_total\{route="events"\} 1/,
    );
  });

  it('leaves no body timer behind for a request refused before its body was read', async () => {
    collector = await startTestCollector({ INGEST_BODY_TIMEOUT_MS: '100' });
    const body = new Readable({ read() {} });
    body.push('<events>');
    const response = await collector.app.inject({
      method: 'POST',
      url: `/v1/events?key=${TEST_WRITE_KEY}`,
      headers: { 'content-type': 'application/xml' },
      payload: body,
    });
    expect(response.statusCode).toBe(415);
    // A timer still armed would now fire into a stream nobody reads: an uncaught error fails this run.
    await sleep(250);
  });

  it('answers 408 to a body that trickles in too slowly', async () => {
    collector = await startTestCollector({ INGEST_BODY_TIMEOUT_MS: '150' });
    const body = new Readable({ read() {} });
    body.push('{"events":[');
    const response = await collector.app.inject({
      method: 'POST',
      url: `/v1/events?key=${TEST_WRITE_KEY}`,
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(408);
    expect(response.json()).toMatchObject({
      error: 'request_timeout',
      message: 'request body not received within 150 ms',
    });
  });

  describe('origins', () => {
    const env = {
      LIVEPULSE_WRITE_KEYS: `shop:${'s'.repeat(20)},blog:${'b'.repeat(20)}`,
      LIVEPULSE_WRITE_KEY_ORIGINS: 'shop=https://shop.example',
    };

    it('refuses a request from an origin the key does not allow, even without CORS', async () => {
      collector = await startTestCollector(env);
      const response = await post(
        { events: [samplePlayerEvent()] },
        { query: `key=${'s'.repeat(20)}`, headers: { origin: 'https://evil.example' } },
      );
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ error: 'origin_not_allowed' });
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers an allowed origin with CORS headers', async () => {
      collector = await startTestCollector(env);
      const response = await post(
        { events: [samplePlayerEvent()] },
        { query: `key=${'s'.repeat(20)}`, headers: { origin: 'https://shop.example' } },
      );
      expect(response.statusCode).toBe(202);
      expect(response.headers['access-control-allow-origin']).toBe('https://shop.example');
    });

    it.each([
      ['the key in the URL allows the origin', `key=${'s'.repeat(20)}`, 'https://shop.example', 204],
      ['the key in the URL does not allow it', `key=${'s'.repeat(20)}`, 'https://evil.example', 404],
      ['no key, but some key allows any origin', '', 'https://anything.example', 204],
    ])('answers a preflight where %s', async (_what, query, origin, status) => {
      collector = await startTestCollector(env);
      const response = await collector.app.inject({
        method: 'OPTIONS',
        url: `/v1/events${query ? `?${query}` : ''}`,
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(response.statusCode).toBe(status);
      if (status === 204) {
        expect(response.headers['access-control-allow-origin']).toBe(origin);
        expect(response.headers['access-control-allow-methods']).toBe('POST');
      }
    });
  });

  it('publishes the OpenAPI document with the routes and the shared PlayerEvent schema', async () => {
    collector = await startTestCollector();
    const response = await collector.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<PublishedDocument>();
    expect(Object.keys(document.paths).sort()).toEqual(['/v1/cmcd', '/v1/events', '/v1/ivs/events']);
    // The shared schema is the one the route validates with, field for field.
    const published = document.components.schemas.PlayerEvent!;
    expect(Object.keys(published.properties)).toEqual(Object.keys(PlayerEvent.properties));
    expect(published.required).toEqual(PlayerEvent.required);
    expect(Object.keys(published.properties.counters!.properties!)).toEqual(
      Object.keys(PlayerEvent.properties.counters.properties),
    );
    const events = document.paths['/v1/events']!.post;
    expect(events).toMatchObject({
      tags: ['player events'],
      security: [{ bearerWriteKey: [] }, { queryWriteKey: [] }],
    });
    expect(events.responses['202']!.content!['application/json']!.schema).toMatchObject({
      required: ['accepted', 'duplicates', 'rejected'],
      properties: {
        accepted: { type: 'integer' },
        duplicates: { type: 'integer' },
        rejected: { type: 'array', items: { $ref: '#/components/schemas/RejectedEvent' } },
      },
    });
    expect(Object.keys(events.responses).sort()).toEqual(['202', '400', '401', '403', '408', '413', '415', '503']);
    expect(document.paths['/v1/ivs/events']!.post.security).toEqual([{ ivsSecret: [] }]);
    expect(Object.keys(document.components.securitySchemes)).toEqual(
      expect.arrayContaining(['bearerWriteKey', 'queryWriteKey', 'ivsSecret']),
    );
  });
});
