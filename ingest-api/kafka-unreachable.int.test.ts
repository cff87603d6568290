import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../core/bus/kafka-bus.ts';
import { waitFor } from '../test/wait-for.ts';
import { samplePlayerEvents } from './events/sample-player-events.ts';
import { startTestCollector, TEST_WRITE_KEY, type TestCollector } from './testing/test-collector.ts';

/**
 * The collector in front of a Kafka that does not answer (the real kafkajs adapter, a port
 * nothing listens on). kafkajs takes many seconds to give up connecting; the collector answers
 * 503 with Retry-After within its publish deadline instead, never 202, and once the adapter has
 * given up the events' claims are released so that a later retry is a fresh attempt.
 */
let collector: TestCollector | undefined;
let bus: KafkaBus | undefined;
afterAll(async () => {
  await collector?.close();
  await bus?.close();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the collector when Kafka is unreachable', () => {
  it('answers 503 with Retry-After within the deadline, and never loses what it has not stored', async () => {
    bus = new KafkaBus({
      brokers: [`127.0.0.1:${await closedPort()}`],
      clientId: 'ingest-unreachable-test',
      defaultPartitions: 1,
      replicationFactor: 1,
      publish: { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
    });
    collector = await startTestCollector({ INGEST_PUBLISH_DEADLINE_MS: '1000' }, { bus: () => bus! });
    const body = JSON.stringify({ events: samplePlayerEvents(5) });
    const post = () =>
      collector!.app.inject({
        method: 'POST',
        url: `/v1/events?key=${TEST_WRITE_KEY}`,
        headers: { 'content-type': 'text/plain' },
        payload: body,
      });

    const started = Date.now();
    const first = await post();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBe('5');
    expect(first.json()).toMatchObject({ error: 'bus_slow' });

    // While kafkajs still tries, the same events are in flight: a retry is told to come back.
    expect((await post()).json()).toMatchObject({ statusCode: 503, error: 'retry' });

    // Once the adapter gives up, the claims are released: a retry is a new attempt (503 again, as Kafka is still down).
    await waitFor(
      'the adapter to give up',
      async () =>
        /livepulse_ingest_bus_publish_duration_seconds_count\{[^}]*\} 1/.test(
          await collector!.metrics.registry.metrics(),
        ),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect((await post()).json()).toMatchObject({ statusCode: 503, error: 'bus_slow' });
  }, 120_000);
});
