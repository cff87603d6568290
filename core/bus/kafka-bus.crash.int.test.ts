import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { relaunchLocalService, startLocalServices, stopLocalServices } from '../../infra/local/process-supervisor.ts';
import { AnswerDroppingProxy } from '../../test/answer-dropping-proxy.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { BusUnavailableError } from './bus.ts';
import { KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';
import { PlatformaticKafkaBus } from './platformatic-kafka-bus.ts';

const children: ChildProcess[] = [];
function startConsumer(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/bus-consumer-process.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * Each failure against each client. `crashLog` is what the adapter logs when its consumer gave up
 * on the broker; `throughProxy` routes every connection to a broker through a proxy.
 */
const clients = [
  {
    client: 'kafkajs',
    open: (options: KafkaBusOptions) => new KafkaBus(options),
    crashLog: 'Crash: ',
    throughProxy: (port: number): Partial<KafkaBusOptions> => ({
      socketFactory: ({ onConnect }) => connect({ host: '127.0.0.1', port }, onConnect),
    }),
  },
  {
    client: 'platformatic',
    open: (options: KafkaBusOptions) => new PlatformaticKafkaBus(options),
    crashLog: 'Kafka consumer lost the broker',
    throughProxy: (port: number) => ({ brokerRoute: () => ({ host: '127.0.0.1', port }) }),
  },
] as const;

for (const { client, open, crashLog, throughProxy } of clients) {
  describe(`kafka bus (${client}): a consumer killed with SIGKILL mid-batch`, () => {
    it('loses nothing: its replacement redelivers the uncommitted batch', async () => {
      const brokers = testServices().kafkaBrokers;
      const bus = open({
        brokers: [brokers],
        clientId: 'crash-test-producer',
        defaultPartitions: 4,
        replicationFactor: 1,
        publish: { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
      });
      const topic = `crash.${randomUUID().slice(0, 8)}`;
      const groupId = `crash-${randomUUID()}`;
      const outFile = join(mkdtempSync(join(tmpdir(), 'livepulse-crash-')), 'handled.log');
      const sent = Array.from({ length: 400 }, (_, i) => `event-${i}`);
      try {
        await bus.ensureTopics([{ name: topic, partitions: 4 }]);
        await bus.publish(
          topic,
          sent.map((value, i) => ({ key: `view-${i % 37}`, value: Buffer.from(value) })),
        );

        const doomed = startConsumer([brokers, topic, groupId, outFile, 'stall', client]);
        await waitFor('the consumer to stall mid-batch', () => existsSync(`${outFile}.stalled`), { timeoutMs: 60_000 });
        doomed.kill('SIGKILL');
        await new Promise((resolve) => doomed.once('exit', resolve));
        const handledBeforeCrash = readFileSync(outFile, 'utf8').split('\n').filter(Boolean);
        expect(handledBeforeCrash.length).toBeLessThan(sent.length);

        startConsumer([brokers, topic, groupId, outFile, 'normal', client]);
        await waitFor(
          'every message to be handled after the restart',
          () => new Set(readFileSync(outFile, 'utf8').split('\n').filter(Boolean)).size === sent.length,
          { timeoutMs: 90_000, intervalMs: 200 },
        );
        await waitFor(
          'the group to commit everything',
          async () => {
            const [committed, end] = await Promise.all([bus.committedOffsets(groupId, topic), bus.endOffsets(topic)]);
            return end.every((e, p) => committed[p] === e);
          },
          { timeoutMs: 30_000 },
        );

        const handled = readFileSync(outFile, 'utf8').split('\n').filter(Boolean);
        expect(new Set(handled)).toEqual(new Set(sent));
        // At-least-once: only the batch in flight at the crash may be seen twice.
        expect(handled.length - sent.length).toBeLessThanOrEqual(50);
      } finally {
        await bus.close();
      }
    });
  });

  describe(`kafka bus (${client}): the broker stops under a manual-commit consumer`, () => {
    it('asking to read again while the consumer is crashed neither throws nor loses the request: once the broker is back, the partition is read from its last commit', async () => {
      // A broker of its own: this test stops it.
      const stateDir = mkdtempSync(join(tmpdir(), 'livepulse-outage-kafka-'));
      const kafka = await startLocalServices(['kafka'], { stateDir });
      const brokers = kafka.endpoints.kafkaBrokers!;
      const logged: string[] = [];
      const bus = open({
        brokers: [brokers],
        clientId: 'outage-test',
        defaultPartitions: 1,
        replicationFactor: 1,
        publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
        consumerSessionTimeoutMs: 6_000,
        logger: pino({ level: 'error' }, { write: (line: string) => void logged.push(line) }),
      });
      const topic = `outage.${randomUUID().slice(0, 8)}`;
      const received: string[] = [];
      try {
        await bus.ensureTopics([{ name: topic, partitions: 1 }]);
        await bus.publish(
          topic,
          Array.from({ length: 10 }, (_, i) => ({ key: 'one-key', value: Buffer.from(`m${i}`) })),
        );
        const subscription = await bus.subscribe({
          groupId: `outage-${randomUUID()}`,
          topics: [topic],
          commit: 'manual',
          handleBatch: (batch) => {
            received.push(...batch.messages.map((m) => m.value.toString()));
            return Promise.resolve();
          },
        });
        await waitFor('all 10', () => received.length >= 10, { timeoutMs: 60_000 });
        expect(await subscription.commit(topic, 0, '6')).toBe(true);

        await stopLocalServices(stateDir, ['kafka']);
        await waitFor('the consumer to crash', () => logged.some((line) => line.includes(crashLog)), {
          timeoutMs: 120_000,
          intervalMs: 200,
        });
        // What a checkpoint that failed in the background asks for, through the consumer's restart
        // delay (in which kafkajs refuses a seek: "Consumer group was not initialized").
        for (const until = Date.now() + 3_000; Date.now() < until; await sleep(20)) {
          expect(() => subscription.readAgain(topic, 0)).not.toThrow();
        }
        expect(subscription.assignedPartitions()).toEqual({});

        await relaunchLocalService('kafka', stateDir, Number(brokers.split(':').at(-1)));
        await waitFor('m6 to m9 again after the restart', () => received.length >= 14, {
          timeoutMs: 120_000,
          intervalMs: 250,
        });
        expect(received.slice(10)).toEqual(['m6', 'm7', 'm8', 'm9']);
      } finally {
        await bus.close();
        await kafka.stop();
        await stopLocalServices(stateDir, ['kafka']);
      }
    }, 360_000);
  });

  describe(`kafka bus (${client}): a batch the broker wrote but whose acknowledgement was lost`, () => {
    it('fails that publish, and later publishes are neither refused as out of order nor dropped as its duplicates', async () => {
      const [host, port] = testServices().kafkaBrokers.split(':');
      const proxy = await AnswerDroppingProxy.start({ host: host!, port: Number(port) });
      const bus = open({
        brokers: [`127.0.0.1:${proxy.port}`],
        clientId: 'lost-ack-test',
        defaultPartitions: 1,
        replicationFactor: 1,
        publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
        // Every connection, including those to the address the broker advertises, goes through the proxy.
        ...throughProxy(proxy.port),
      });
      const topic = `lost-ack.${randomUUID().slice(0, 8)}`;
      const batch = (name: string, size: number) =>
        Array.from({ length: size }, (_, i) => ({ key: 'one-key', value: Buffer.from(`${name}${i}`) }));
      const values = (messages: Array<{ value: Buffer }>) => messages.map((m) => m.value.toString());
      try {
        await bus.ensureTopics([{ name: topic, partitions: 1 }]);
        await bus.publish(topic, batch('a', 3));

        // The broker writes b0..b4, and every answer is lost until kafkajs gives up on the batch.
        proxy.dropAnswers();
        await expect(bus.publish(topic, batch('b', 5))).rejects.toThrow(BusUnavailableError);
        proxy.passAnswers();

        // A batch of another size (which the broker would refuse as out of order, for good) and one
        // of the lost batch's size (which it would take for that batch's retry and not write).
        await bus.publish(topic, batch('c', 7));
        await bus.publish(topic, batch('d', 5));

        const received: string[] = [];
        const subscription = await bus.subscribe({
          groupId: `lost-ack-${randomUUID()}`,
          topics: [topic],
          handleBatch: (delivered) => {
            received.push(...values(delivered.messages));
            return Promise.resolve();
          },
        });
        try {
          await waitFor('the four batches', () => received.length >= 20, { timeoutMs: 60_000, intervalMs: 200 });
        } finally {
          await subscription.stop();
        }
        // At least once: the failed batch was written (a retry of it would be a duplicate for consumers to drop).
        expect(received).toEqual(values([...batch('a', 3), ...batch('b', 5), ...batch('c', 7), ...batch('d', 5)]));
      } finally {
        await bus.close();
        await proxy.close();
      }
    }, 180_000);
  });
}
