import { setTimeout as sleep } from 'node:timers/promises';
import { CMCD_KEYS, CmcdReporter, type CmcdEventType } from '@svta/cml-cmcd';
import { afterEach, describe, expect, it } from 'vitest';
import { BusUnavailableError } from '../../core/bus/bus.ts';
import { TOPICS } from '../../core/topics.ts';
import { waitFor } from '../../test/wait-for.ts';
import { controllableBus, type ControllableBus } from '../testing/controllable-bus.ts';
import { startTestCollector, TEST_WRITE_KEY, type TestCollector } from '../testing/test-collector.ts';

let collector: TestCollector;
afterEach(() => collector?.close());

const EVENTS: CmcdEventType[] = ['ps', 'e', 't', 'bc'];

function post(body: string, { query = `key=${TEST_WRITE_KEY}`, contentType = 'application/cmcd' } = {}) {
  return collector.app.inject({
    method: 'POST',
    url: `/v1/cmcd?${query}`,
    headers: { 'content-type': contentType },
    payload: body,
  });
}

/** The CML reporter hls.js uses, delivering through the collector. */
function reporter(sid: string, { batchSize = 1, answers = [] as number[] } = {}) {
  return new CmcdReporter(
    {
      sid,
      cid: 'stream-9',
      version: 2,
      enabledKeys: CMCD_KEYS,
      eventTargets: [
        {
          url: `http://collector/v1/cmcd?key=${TEST_WRITE_KEY}`,
          events: EVENTS,
          interval: 0,
          batchSize,
          enabledKeys: CMCD_KEYS,
        },
      ],
    },
    async (request) => {
      const response = await collector.app.inject({
        method: 'POST',
        url: new URL(request.url).pathname + new URL(request.url).search,
        headers: request.headers as Record<string, string>,
        payload: request.body as string,
      });
      answers.push(response.statusCode);
      return { status: response.statusCode };
    },
  );
}

const cmcdEvents = () =>
  collector
    .records(TOPICS.playerEvents)
    .map(
      (r) =>
        r.value as {
          event: string;
          view_seq: number;
          view_id: string;
          source: string;
          counters: Record<string, number>;
          event_id: string;
        },
    )
    .sort((a, b) => a.view_seq - b.view_seq);

describe('POST /v1/cmcd', () => {
  it('counts report lines that do not name their viewer (hls.js sends the custom key only when the target includes it)', async () => {
    collector = await startTestCollector();
    const withoutViewer = async () =>
      (
        await collector.metrics.registry.getSingleMetricAsString('livepulse_ingest_cmcd_reports_without_viewer_total')
      ).match(/_total(?:\{[^}]*\})? (\d+)/)?.[1];
    const line = (sn: number, extra = '') =>
      `cid="stream-9",e=ps,sid="sess-anon",sn=${sn},sta=p,ts=${Date.now() - 1_000 + sn},v=2${extra}`;
    expect((await post(line(0))).statusCode).toBe(204);
    expect((await post(`${line(1)}\n${line(2)}`)).statusCode).toBe(204);
    expect(await withoutViewer()).toBe('3');
    expect((await post(line(3, ',livepulse-viewer="viewer-7"'))).statusCode).toBe(204);
    expect(await withoutViewer()).toBe('3');
  });

  it('turns a CML reporter session into canonical player events, with no SDK', async () => {
    collector = await startTestCollector();
    const answers: number[] = [];
    const r = reporter('sess-1', { answers });
    r.update({ sf: 'h', sta: 'd' });
    r.update({ sta: 's' });
    await sleep(120);
    r.update({ sta: 'p', br: [2500], st: 'l' });
    r.recordEvent('bc', { br: [4500] });
    r.update({ sta: 'a' });
    await waitFor('six reports answered', () => answers.length === 6);
    expect(answers.every((status) => status === 204)).toBe(true);

    const events = cmcdEvents();
    // Setting br with the state fires a bitrate-change report of its own (CML's state fields), then the explicit one.
    expect(events.map((e) => e.event)).toEqual([
      'playerready',
      'viewstart',
      'playing',
      'renditionchange',
      'renditionchange',
      'pause',
    ]);
    expect(events.map((e) => e.view_seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(events.map((e) => e.view_id))).toEqual(new Set(['sess-1']));
    expect(events.every((e) => e.source === 'cmcd')).toBe(true);
    expect(events[2]!.counters.ttff_ms).toBeGreaterThanOrEqual(100);
    expect(events[3]).toMatchObject({ dimensions: { source_bitrate_kbps: 2500 }, is_live: true });
    expect(events[4]).toMatchObject({ dimensions: { source_bitrate_kbps: 4500 } });
  });

  it('keeps order and counts when one session sends its reports concurrently', async () => {
    collector = await startTestCollector();
    const t0 = Date.now() - 60_000;
    const line = (sn: number, at: number, rest: string) =>
      `cid="stream-9",${rest},sid="sess-2",sn=${sn},ts=${t0 + at},v=2`;
    const reports = [
      line(0, 0, 'e=ps,sta=s'),
      line(1, 500, 'e=ps,sta=p'),
      line(2, 10_500, 'e=t,sta=p'),
      line(3, 12_500, 'e=ps,sta=r'),
      line(4, 13_500, 'e=ps,sta=p'),
      line(5, 20_500, 'e=t,sta=p'),
    ];
    const statuses = await Promise.all(reports.map((body) => post(body).then((r) => r.statusCode)));
    expect(statuses).toEqual(Array(6).fill(204));
    const events = cmcdEvents();
    expect(events.map((e) => e.view_seq)).toEqual(events.map((_, i) => i));
    const last = events.at(-1)!;
    expect(last.event).toBe('heartbeat');
    // Requests may be applied in any order; a late one is applied only in part, so the totals never exceed the truth.
    expect(last.counters.watch_ms).toBeLessThanOrEqual(20_500);
    expect(last.counters.rebuffer_count).toBeLessThanOrEqual(1);
  });

  it('stores a resent report once', async () => {
    collector = await startTestCollector();
    const body = `cid="stream-9",e=ps,sid="sess-3",sn=0,sta=s,ts=${Date.now() - 1_000},v=2`;
    expect((await post(body)).statusCode).toBe(204);
    expect((await post(body)).statusCode).toBe(204);
    expect(cmcdEvents().map((e) => e.event)).toEqual(['viewstart']);
  });

  it('answers 503 when the bus is down and produces the same events, once, on the retry', async () => {
    let bus!: ControllableBus;
    collector = await startTestCollector({}, { bus: (embedded) => (bus = controllableBus(embedded)) });
    const t = Date.now() - 5_000;
    expect((await post(`cid="c",e=ps,sid="sess-4",sn=0,sta=s,ts=${t},v=2`)).statusCode).toBe(204);
    const body = `cid="c",e=ps,sid="sess-4",sn=1,sta=p,ts=${t + 400},v=2\ncid="c",e=t,sid="sess-4",sn=2,sta=p,ts=${t + 4_400},v=2`;
    bus.failNext(new BusUnavailableError('no broker'));
    const refused = await post(body);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect((await post(body)).statusCode).toBe(204);
    const events = cmcdEvents();
    expect(events.map((e) => [e.event, e.view_seq])).toEqual([
      ['viewstart', 0],
      ['playing', 1],
      ['heartbeat', 2],
    ]);
    expect(events[2]!.counters).toMatchObject({ playing_ms: 4_000, ttff_ms: 400 });
  });

  it('answers 410 once the session quit, which makes the CML reporter stop sending', async () => {
    collector = await startTestCollector();
    const answers: number[] = [];
    const r = reporter('sess-5', { answers });
    r.update({ sta: 's' });
    r.update({ sta: 'p' });
    r.update({ sta: 'q' });
    await waitFor('three reports answered', () => answers.length === 3);
    r.recordEvent('t');
    r.recordEvent('t');
    await sleep(100);
    // The quit report is stored and answered 410; the reporter then drops the session's later reports itself.
    expect(answers).toEqual([204, 204, 410]);
    expect(cmcdEvents().map((e) => e.event)).toEqual(['viewstart', 'playing', 'viewend']);
  });

  it('rejects invalid lines on their own and keeps them on dead-letters', async () => {
    collector = await startTestCollector();
    const good = `cid="c",e=ps,sid="sess-6",sn=0,sta=s,ts=${Date.now() - 1_000},v=2`;
    expect((await post(`${good}\nnonsense here\ne=ps,sid="sess-6",sta=zz,ts=1,v=2`)).statusCode).toBe(204);
    expect(cmcdEvents()).toHaveLength(1);
    const letters = collector.records(TOPICS.deadLetters);
    expect(letters).toHaveLength(2);
    expect(letters[0]!.headers['x-reason']).toBe('invalid CMCD report line');
    expect(letters.map((l) => l.raw).sort()).toEqual(['e=ps,sid="sess-6",sta=zz,ts=1,v=2', 'nonsense here']);
  });

  it.each([
    ['nothing valid', 'garbage\nmore garbage', 'application/cmcd', 400, 'no_valid_events'],
    [
      'no content id anywhere',
      `e=ps,sid="s7",sn=0,sta=s,ts=${Date.now()},v=2`,
      'application/cmcd',
      400,
      'no_valid_events',
    ],
    ['an empty body', '\n\n', 'application/cmcd', 400, 'malformed_body'],
    ['JSON', '{"sid":"x"}', 'application/json', 415, 'unsupported_media_type'],
    [
      'too many lines',
      Array(301).fill(`cid="c",e=t,sid="s",ts=${Date.now()},v=2`).join('\n'),
      'application/cmcd',
      413,
      'too_many_events',
    ],
  ])('answers %s with %i', async (_what, body, contentType, status, error) => {
    collector = await startTestCollector();
    const response = await post(body, { contentType });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error });
  });

  it('takes the stream id from the report URL when the player sends no cid', async () => {
    collector = await startTestCollector();
    const response = await post(`e=ps,sid="sess-8",sn=0,sta=s,ts=${Date.now() - 1_000},v=2`, {
      query: `key=${TEST_WRITE_KEY}&stream_id=live-42`,
    });
    expect(response.statusCode).toBe(204);
    expect(collector.records(TOPICS.playerEvents)[0]!.value).toMatchObject({ stream_id: 'live-42', view_id: 'sess-8' });
  });

  it('needs a write key', async () => {
    collector = await startTestCollector();
    const response = await post(`cid="c",e=t,sid="s",ts=${Date.now()},v=2`, { query: '' });
    expect(response.statusCode).toBe(401);
  });
});
