import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChatClient,
  startChatGateway,
  testToken,
  type ChatGatewayUnderTest,
} from '../chat-gateway/testing/chat-test-kit.ts';
import { TOPICS } from '../core/topics.ts';
import { samplePlayerEvent } from '../ingest-api/events/sample-player-events.ts';
import { ivsRecordingEvent } from '../ingest-api/ivs/ivs-fixtures.ts';
import { IVS_SECRET_HEADER } from '../ingest-api/ivs/ivs-route.ts';
import { startTestCollector, TEST_WRITE_KEY, type TestCollector } from '../ingest-api/testing/test-collector.ts';

/**
 * Every edge where text comes in refuses text that is not well-formed Unicode (a lone UTF-16
 * surrogate, which JSON's `\ud800` escape can carry) with the answer it gives any other bad field,
 * naming the field, and stores nothing: accepted once, such a string made every ClickHouse writer
 * fail on its batch forever. JSON bodies are written by hand, since JSON.stringify would escape it
 * the same way anyway and the bytes on the wire are what matters.
 */
const LONE = '\\ud800';
let collector: TestCollector;
let gateway: ChatGatewayUnderTest;
const stream = `s-${randomUUID().slice(0, 8)}`;

interface Refusal {
  status: number | string;
  error: string;
  says: string;
}

const collectorPost = async (
  url: string,
  payload: string | Buffer,
  headers: Record<string, string>,
): Promise<Refusal> => {
  const response = await collector.app.inject({ method: 'POST', url, headers, payload });
  const body = response.json<{ error: string; message: string; rejected?: unknown }>();
  return {
    status: response.statusCode,
    error: body.error,
    says: `${body.message} ${JSON.stringify(body.rejected ?? [])}`,
  };
};

/** A JSON text whose `field` (a string in `value`) carries a lone surrogate. */
const withLoneSurrogate = (value: unknown, marker: string) => JSON.stringify(value).replace(marker, `${marker}${LONE}`);

const moderatorApi = async (method: string, path: string, body: string): Promise<Refusal> => {
  const token = await testToken('edge-mod', { [stream]: 'moderator' });
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const answer = (await response.json()) as { error: string; message: string };
  return { status: response.status, error: answer.error, says: answer.message };
};

const EDGES: Array<
  [edge: string, send: () => Promise<Refusal>, expected: { status: number | string; error: string; field: string }]
> = [
  [
    'POST /v1/events (application/json)',
    () =>
      collectorPost(
        `/v1/events?key=${TEST_WRITE_KEY}`,
        withLoneSurrogate({ events: [samplePlayerEvent({ dimensions: { cdn: 'edge-cdn' } })] }, 'edge-cdn'),
        { 'content-type': 'application/json' },
      ),
    { status: 400, error: 'no_valid_events', field: '/dimensions/cdn' },
  ],
  [
    'POST /v1/events (text/plain, as sendBeacon sends it)',
    () =>
      collectorPost(
        `/v1/events?key=${TEST_WRITE_KEY}`,
        withLoneSurrogate(
          { events: [samplePlayerEvent({ error: { code: 'edge-code', severity: 'warning' } })] },
          'edge-code',
        ),
        { 'content-type': 'text/plain' },
      ),
    { status: 400, error: 'no_valid_events', field: '/error/code' },
  ],
  [
    'POST /v1/events, a lone surrogate in a key',
    () =>
      collectorPost(
        `/v1/events?key=${TEST_WRITE_KEY}`,
        JSON.stringify({ events: [samplePlayerEvent()] }).replace('"counters":{', `"counters":{"x${LONE}":1,`),
        { 'content-type': 'application/json' },
      ),
    { status: 400, error: 'no_valid_events', field: '/counters' },
  ],
  [
    // A lone surrogate has no UTF-8 spelling; its WTF-8 bytes are refused as what they are.
    'POST /v1/cmcd',
    () =>
      collectorPost(
        `/v1/cmcd?key=${TEST_WRITE_KEY}`,
        Buffer.concat([
          Buffer.from(`cid="c`),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from(`",e=ps,sid="s",sta=s,ts=${Date.now()},v=2`),
        ]),
        { 'content-type': 'application/cmcd' },
      ),
    { status: 400, error: 'malformed_body', field: 'UTF-8' },
  ],
  [
    'POST /v1/ivs/events',
    () =>
      collectorPost(
        '/v1/ivs/events',
        withLoneSurrogate(ivsRecordingEvent('Recording End', { reason: 'edge-reason' }), 'edge-reason'),
        { 'content-type': 'application/json', [IVS_SECRET_HEADER]: collector.config.auth.ivsWebhookSecret },
      ),
    { status: 400, error: 'no_valid_events', field: '/detail/recording_status_reason' },
  ],
  [
    'chat message over socket.io',
    async () => {
      const client = await ChatClient.connect(gateway.url, await testToken('edge-viewer', { [stream]: 'viewer' }));
      try {
        expect((await client.join(stream)).ok).toBe(true);
        const answer = await client.send(`hello ${String.fromCharCode(0xd800)} world`);
        return { status: answer.status, error: answer.reason ?? '', says: answer.detail ?? '' };
      } finally {
        client.close();
      }
    },
    { status: 'rejected', error: 'invalid_payload', field: '/text' },
  ],
  [
    'moderator HTTP API (ban reason)',
    () => moderatorApi('POST', `/v1/chat/streams/${stream}/bans`, `{"userId":"someone","reason":"spam${LONE}"}`),
    { status: 400, error: 'invalid_payload', field: '/reason' },
  ],
  [
    'moderator HTTP API (blocked term)',
    () => moderatorApi('POST', `/v1/chat/streams/${stream}/terms`, `{"kind":"blocked","text":"bad${LONE}word"}`),
    { status: 400, error: 'invalid_payload', field: '/text' },
  ],
];

describe('text that is not well-formed Unicode, at every edge', () => {
  beforeAll(async () => {
    collector = await startTestCollector();
    gateway = await startChatGateway();
  });
  afterAll(async () => {
    await collector?.close();
    await gateway?.stop();
  });

  it.each(EDGES)('%s refuses it, naming the field', async (_edge, send, expected) => {
    const refusal = await send();
    expect(refusal).toMatchObject({ status: expected.status, error: expected.error });
    expect(refusal.says).toContain(expected.field);
    expect(refusal.says).toMatch(/well-formed Unicode|UTF-8/);
  });

  it('stores none of it: nothing reached the player or lifecycle topics', () => {
    expect(collector.records(TOPICS.playerEvents)).toEqual([]);
    expect(collector.records(TOPICS.streamLifecycle)).toEqual([]);
  });
});
