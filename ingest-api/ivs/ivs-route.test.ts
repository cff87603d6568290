import { afterEach, describe, expect, it } from 'vitest';
import { BusUnavailableError } from '../../core/bus/bus.ts';
import { TOPICS } from '../../core/topics.ts';
import { controllableBus, type ControllableBus } from '../testing/controllable-bus.ts';
import { startTestCollector, type TestCollector } from '../testing/test-collector.ts';
import { ivsRecordingEvent, ivsStreamEvent } from './ivs-fixtures.ts';
import { IVS_SECRET_HEADER } from './ivs-route.ts';

let collector: TestCollector;
afterEach(() => collector?.close());

/** `secret: null` sends no secret header. */
function deliver(body: unknown, secret: string | null = collector.config.auth.ivsWebhookSecret) {
  return collector.app.inject({
    method: 'POST',
    url: '/v1/ivs/events',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(secret === null ? {} : { [IVS_SECRET_HEADER]: secret }),
    },
    payload: JSON.stringify(body),
  });
}

describe('POST /v1/ivs/events', () => {
  it('normalises IVS events onto stream.lifecycle, keyed by channel', async () => {
    collector = await startTestCollector();
    const response = await deliver(ivsStreamEvent('Stream Start'));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 1, duplicates: 0, ignored: [], rejected: [] });
    const [record] = collector.records(TOPICS.streamLifecycle);
    expect(record!.key).toBe('AbCdEfGh1234');
    expect(record!.value).toMatchObject({ kind: 'stream_start', stream_id: 'st-1A2b3c4D5e6F678gH90IjkL' });
  });

  it('stores a redelivered event once, and events arriving out of order as they are', async () => {
    collector = await startTestCollector();
    const end = ivsStreamEvent('Stream End', { id: 'e2', time: '2027-03-01T19:00:00Z' });
    const start = ivsStreamEvent('Stream Start', { id: 'e1', time: '2027-03-01T18:00:00Z' });
    expect((await deliver(end)).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await deliver(end)).json()).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await deliver([start, ivsRecordingEvent('Recording End')])).json()).toMatchObject({
      accepted: 2,
      duplicates: 0,
    });
    const kinds = collector.records(TOPICS.streamLifecycle).map((r) => [r.value.kind, r.value.occurred_at]);
    expect(kinds).toEqual([
      ['stream_end', Date.parse('2027-03-01T19:00:00Z')],
      ['stream_start', Date.parse('2027-03-01T18:00:00Z')],
      ['recording_end', Date.parse('2027-03-01T19:00:00Z')],
    ]);
  });

  it('acknowledges IVS events it does not track, so EventBridge does not retry them', async () => {
    collector = await startTestCollector();
    const response = await deliver(ivsStreamEvent('Session Created', { id: 'sc-1' }));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      accepted: 0,
      ignored: [{ id: 'sc-1', reason: expect.stringContaining('Session Created') as unknown }],
    });
  });

  it.each([
    ['no secret', null],
    ['a wrong secret', 'wrong-secret-wrong-secret'],
  ])('answers 401 with %s', async (_what, secret) => {
    collector = await startTestCollector();
    const response = await deliver(ivsStreamEvent('Stream Start'), secret);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      error: 'unauthorized',
      message: expect.stringContaining(IVS_SECRET_HEADER) as unknown,
    });
  });

  it('refuses the public development secret once an embedded server has real credentials', async () => {
    collector = await startTestCollector({
      LIVEPULSE_JWT_SECRET: 'j'.repeat(32),
      LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef',
    });
    expect((await deliver(ivsStreamEvent('Stream Start'), 'livepulse-dev-only-ivs-webhook-secret')).statusCode).toBe(
      401,
    );
  });

  it.each([
    ['another source', { ...ivsStreamEvent('Stream Start'), source: 'aws.s3' }],
    ['another detail type', { ...ivsStreamEvent('Stream Start'), 'detail-type': 'IVS Limit Breach' }],
    ['no stream id', { ...ivsStreamEvent('Stream Start'), detail: { event_name: 'Stream Start' } }],
    ['a bad time', { ...ivsStreamEvent('Stream Start'), time: 'yesterday' }],
  ])('answers 400 to %s', async (_what, body) => {
    collector = await startTestCollector();
    const response = await deliver(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('keeps an event it cannot map on dead-letters and answers 400', async () => {
    collector = await startTestCollector();
    const response = await deliver({ ...ivsStreamEvent('Stream Start'), resources: ['arn:aws:s3:::bucket'] });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'no_valid_events', rejected: [{ index: 0 }] });
    expect(collector.records(TOPICS.deadLetters)[0]!.headers['x-source-topic']).toBe(TOPICS.streamLifecycle);
  });

  it('answers 503 when the bus is down, and EventBridge’s retry is stored', async () => {
    let bus!: ControllableBus;
    collector = await startTestCollector({}, { bus: (embedded) => (bus = controllableBus(embedded)) });
    bus.failNext(new BusUnavailableError('no broker'));
    expect((await deliver(ivsStreamEvent('Stream Start'))).statusCode).toBe(503);
    expect((await deliver(ivsStreamEvent('Stream Start'))).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(collector.records(TOPICS.streamLifecycle)).toHaveLength(1);
  });
});
