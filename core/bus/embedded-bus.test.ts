import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/wait-for.ts';
import { BusBackpressureError } from './bus.ts';
import { EmbeddedBus } from './embedded-bus.ts';

/**
 * Retention of the embedded log past what the contract says: a group holds back its topics while
 * it has a member and for `groupRetentionMs` after (also after a restart, counted from the start),
 * then no longer, so a service stopped for good does not stall its topics with backpressure.
 */
const RETENTION_MS = 1_000;
const message = (value: string) => ({ key: 'k', value: Buffer.from(value) });

function busAt(path: string, clock: { now: number }): EmbeddedBus {
  return new EmbeddedBus({
    path,
    defaultPartitions: 1,
    maxRetainedMessages: 10,
    groupRetentionMs: RETENTION_MS,
    publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
    now: () => clock.now,
  });
}

async function groupThatReadOneAndLeft(bus: EmbeddedBus): Promise<void> {
  await bus.ensureTopics([{ name: 't', partitions: 1 }]);
  await bus.publish('t', [message('m0')]);
  const subscription = await bus.subscribe({ groupId: 'gone', topics: ['t'], handleBatch: () => Promise.resolve() });
  await waitFor('the commit', async () => (await bus.committedOffsets('gone', 't'))[0] === 1);
  await subscription.stop();
}

/** The topic is at its bound: refused while the group holds it, taken once its retention ran out. */
async function expectHeldUntilRetentionRunsOut(bus: EmbeddedBus, clock: { now: number }): Promise<void> {
  await bus.publish(
    't',
    Array.from({ length: 9 }, (_, i) => message(`m${i + 1}`)),
  );
  await expect(bus.publish('t', [message('over')])).rejects.toBeInstanceOf(BusBackpressureError);
  clock.now += RETENTION_MS;
  await expect(bus.publish('t', [message('over')])).resolves.toBeUndefined();
}

describe('embedded bus: group retention', () => {
  it('a group without members holds its topic for the group retention, then no longer causes backpressure', async () => {
    const clock = { now: 1_000_000 };
    const bus = busAt(join(mkdtempSync(join(tmpdir(), 'livepulse-retention-')), 'log.sqlite'), clock);
    try {
      await groupThatReadOneAndLeft(bus);
      await expectHeldUntilRetentionRunsOut(bus, clock);
    } finally {
      await bus.close();
    }
  });

  it('a group known from the log file holds its topic from the restart on, for the group retention', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'livepulse-retention-')), 'log.sqlite');
    const clock = { now: 1_000_000 };
    const first = busAt(path, clock);
    await groupThatReadOneAndLeft(first);
    await first.close();

    // Restarted long after: the group has not been away by choice, and may subscribe any moment.
    clock.now += 100 * RETENTION_MS;
    const second = busAt(path, clock);
    try {
      await expectHeldUntilRetentionRunsOut(second, clock);
    } finally {
      await second.close();
    }
  });
});

describe('embedded bus: compacted topics', () => {
  it('are never cut by retention nor refused for size: they keep the latest record of every key', async () => {
    const clock = { now: 1_000_000 };
    const bus = busAt(join(mkdtempSync(join(tmpdir(), 'livepulse-compacted-')), 'log.sqlite'), clock);
    try {
      await bus.ensureTopics([{ name: 'changelog', partitions: 1, compacted: true }]);
      // Five times the bound of 10 retained messages, as 50 keys, twice over.
      for (const round of [1, 2]) {
        for (let i = 0; i < 50; i += 10) {
          await bus.publish(
            'changelog',
            Array.from({ length: 10 }, (_, j) => ({ key: `k${i + j}`, value: Buffer.from(`${round}`) })),
          );
        }
      }
      const read: string[] = [];
      await bus.readPartition(
        'changelog',
        0,
        (messages) => void read.push(...messages.map((m) => `${m.key}=${m.value.toString()}`)),
      );
      expect(read).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}=2`));
    } finally {
      await bus.close();
    }
  });
});

describe('embedded bus: failures', () => {
  // Callers chain `.catch` or Promise.all on these: a failure must come as a rejection, never a throw.
  it('reach the caller as rejections, never as synchronous throws, once the bus is closed', async () => {
    const bus = busAt(':memory:', { now: 1_000_000 });
    await bus.close();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['ping', () => bus.ping()],
      ['subscribe', () => bus.subscribe({ groupId: 'g', topics: ['t'], handleBatch: () => Promise.resolve() })],
      ['ensureTopics', () => bus.ensureTopics([{ name: 'new', partitions: 1 }])],
      ['logId', () => bus.logId('new')],
      ['committedOffsets', () => bus.committedOffsets('g', 'new')],
      ['endOffsets', () => bus.endOffsets('new')],
    ];
    for (const [name, call] of calls) {
      let settled: Promise<unknown> | undefined;
      expect(() => (settled = call()), name).not.toThrow();
      await expect(settled, name).rejects.toThrow();
    }
  });
});
