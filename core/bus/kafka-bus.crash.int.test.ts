import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { KafkaBus } from './kafka-bus.ts';

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

describe('kafka bus: a consumer killed with SIGKILL mid-batch', () => {
  it('loses nothing: its replacement redelivers the uncommitted batch', async () => {
    const brokers = testServices().kafkaBrokers;
    const bus = new KafkaBus({
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
      await bus.publish(topic, sent.map((value, i) => ({ key: `view-${i % 37}`, value: Buffer.from(value) })));

      const doomed = startConsumer([brokers, topic, groupId, outFile, 'stall']);
      await waitFor('the consumer to stall mid-batch', () => existsSync(`${outFile}.stalled`), { timeoutMs: 60_000 });
      doomed.kill('SIGKILL');
      await new Promise((resolve) => doomed.once('exit', resolve));
      const handledBeforeCrash = readFileSync(outFile, 'utf8').split('\n').filter(Boolean);
      expect(handledBeforeCrash.length).toBeLessThan(sent.length);

      startConsumer([brokers, topic, groupId, outFile, 'normal']);
      await waitFor(
        'every message to be handled after the restart',
        () => new Set(readFileSync(outFile, 'utf8').split('\n').filter(Boolean)).size === sent.length,
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      await waitFor('the group to commit everything', async () => {
        const [committed, end] = await Promise.all([bus.committedOffsets(groupId, topic), bus.endOffsets(topic)]);
        return end.every((e, p) => committed[p] === e);
      }, { timeoutMs: 30_000 });

      const handled = readFileSync(outFile, 'utf8').split('\n').filter(Boolean);
      expect(new Set(handled)).toEqual(new Set(sent));
      // At-least-once: only the batch in flight at the crash may be seen twice.
      expect(handled.length - sent.length).toBeLessThanOrEqual(50);
    } finally {
      await bus.close();
    }
  });
});
