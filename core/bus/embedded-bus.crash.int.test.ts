import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/wait-for.ts';
import { EmbeddedBus } from './embedded-bus.ts';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('embedded bus: the process killed with SIGKILL while publishing and consuming', () => {
  it('loses nothing it acknowledged, keeps its commits, and goes on numbering offsets where it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'livepulse-embedded-crash-'));
    const path = join(dir, 'log.sqlite');
    const topic = `crash.${randomUUID().slice(0, 8)}`;
    const groupId = 'crash-group';
    const ackedFile = join(dir, 'acked.log');
    const handledFile = join(dir, 'handled.log');

    // Twice: the second run starts on the log the first was killed on.
    for (const run of [1, 2]) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/embedded-bus-process.ts', path, topic, groupId, ackedFile, handledFile],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
      const ackedBefore = lines(ackedFile).length;
      await waitFor(
        `run ${run} to publish`,
        () => {
          if (child.exitCode !== null) throw new Error(`the bus process exited (${child.exitCode}): ${output}`);
          return output.includes('publishing');
        },
        { timeoutMs: 60_000 },
      );
      // At a random moment well into its work: thousands acknowledged, the consumer committing meanwhile.
      const more = 2_000 + Math.floor(Math.random() * 4_000);
      await waitFor(`run ${run} to acknowledge ${more} more`, () => lines(ackedFile).length >= ackedBefore + more, {
        timeoutMs: 120_000,
        intervalMs: 20,
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }

    const acked = lines(ackedFile);
    const handledBeforeCrash = lines(handledFile);
    const bus = new EmbeddedBus({
      path,
      defaultPartitions: 4,
      maxRetainedMessages: 1_000_000,
      publish: { lingerMs: 0, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
    });
    try {
      const end = await bus.endOffsets(topic);
      const committed = await bus.committedOffsets(groupId, topic);
      // Committed: not past the end, and the consumer made progress that survived the kills.
      expect(committed.every((c, p) => c <= end[p]!)).toBe(true);
      expect(committed.some((c) => c > 0)).toBe(true);

      // The group resumes from its commits: what it handles now and what it handled before the
      // kills together are every record, and every acknowledged value is among them.
      const handledAfter: string[] = [];
      const subscription = await bus.subscribe({
        groupId,
        topics: [topic],
        handleBatch: (batch) => {
          handledAfter.push(...batch.messages.map((m) => m.value.toString()));
          return Promise.resolve();
        },
      });
      const total = end.reduce((n, e) => n + e, 0);
      await waitFor(
        'the group to catch up',
        async () => (await bus.committedOffsets(groupId, topic)).every((c, p) => c === end[p]),
        { timeoutMs: 60_000 },
      );
      await subscription.stop();
      const everything = new Set([...handledBeforeCrash, ...handledAfter]);
      expect(acked.filter((value) => !everything.has(value))).toEqual([]);
      expect(everything.size).toBe(total);
      // Redelivered only what was handled but not yet committed: at most a batch per partition and run.
      expect(handledBeforeCrash.length + handledAfter.length - total).toBeLessThanOrEqual(2 * 4 * 50);

      // Offsets go on from the end the log had.
      const key = 'view-0';
      await bus.publish(topic, [{ key, value: Buffer.from('after') }]);
      const afterEnd = await bus.endOffsets(topic);
      expect(afterEnd.reduce((n, e) => n + e, 0)).toBe(total + 1);
    } finally {
      await bus.close();
    }
  }, 300_000);
});
