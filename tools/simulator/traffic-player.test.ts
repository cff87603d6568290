import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorDeliveryError, playSimulation } from './traffic-player.ts';
import { planSimulation } from './viewer-scripts.ts';

type Answer = { status: number; body: unknown };

/** A collector that answers each request with the next of `answers` (the last one from then on). */
async function scriptedCollector(
  answers: Array<(events: number) => Answer>,
): Promise<{ url: string; requests: number[] }> {
  const requests: number[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const events = (JSON.parse(body) as { events: unknown[] }).events.length;
      requests.push(events);
      const answer = answers[Math.min(requests.length, answers.length) - 1]!(events);
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

// Every event is already due: the player sends them at once.
const plan = () =>
  planSimulation({ viewers: 1, durationMs: 20_000, streams: 1, seed: 5, startAt: Date.now() - 120_000 });
const accepted = (events: number): Answer => ({ status: 202, body: { accepted: events, duplicates: 0, rejected: [] } });
const unavailable = (): Answer => ({
  status: 503,
  body: { statusCode: 503, error: 'bus_unavailable', message: 'events cannot be stored right now; retry later' },
});

describe('playSimulation', () => {
  it('retries a batch the collector answered 503 until it is accepted', async () => {
    const collector = await scriptedCollector([unavailable, unavailable, accepted]);
    const simulation = plan();
    const report = await playSimulation(simulation, { collectorUrl: collector.url, writeKey: 'key' });
    const events = simulation.views.reduce((n, view) => n + view.events.length, 0);
    expect(report.retries).toBe(2);
    expect(report.eventsSent).toBe(events);
    expect(report.accepted).toBe(events);
  });

  it('gives up on a batch the collector refuses, quoting the collector', async () => {
    const invalid = (): Answer => ({
      status: 400,
      body: {
        statusCode: 400,
        error: 'invalid_request',
        message: 'body/events/0 must have required property event_id',
      },
    });
    const collector = await scriptedCollector([invalid]);
    const playing = playSimulation(plan(), { collectorUrl: collector.url, writeKey: 'key' });
    await expect(playing).rejects.toThrow(CollectorDeliveryError);
    await expect(playing).rejects.toThrow(
      /answered 400: .*invalid_request.*must have required property event_id.* attempt 1$/,
    );
    expect(collector.requests).toHaveLength(1);
  });

  it('gives up on a batch still answered 503 at its delivery deadline, quoting the last answer', async () => {
    const collector = await scriptedCollector([unavailable]);
    const playing = playSimulation(plan(), { collectorUrl: collector.url, writeKey: 'key', deliveryTimeoutMs: 500 });
    await expect(playing).rejects.toThrow(/answered 503: .*bus_unavailable.* attempt \d+$/);
    expect(collector.requests.length).toBeGreaterThan(1);
  });
});
