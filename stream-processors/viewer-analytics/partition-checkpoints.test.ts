import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../core/bus/bus.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { PartitionAnalytics } from './partition-analytics.ts';
import { checkpointIntervalMs, PartitionCheckpoints, type CheckpointPorts } from './partition-checkpoints.ts';
import type { StateWrite } from './state-store.ts';
import { SHORT_ANALYTICS_SETTINGS as settings } from './testing/short-settings.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const PARTITION = 3;

/** A partition's log: a few scripted viewers' events, in arrival order; the index is the offset. */
const LOG = collectedEvents(
  planSimulation({ viewers: 4, durationMs: 60_000, seed: 7, startAt: T0, maxRebufferMs: settings.maxRebufferMs }),
);

/** Applies the log's events at the given offsets, as a batch does. */
function applyBatch(analytics: PartitionAnalytics, checkpoints: PartitionCheckpoints, offsets: number[]): void {
  analytics.apply(
    offsets.map((offset) => ({
      offset: String(offset),
      event: LOG[offset]!,
      payload: Buffer.from(JSON.stringify(LOG[offset])),
    })),
  );
  checkpoints.batchApplied(String(offsets.at(-1)! + 1));
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Ports that record every call in `calls`, in order. Each persist waits on the next of
 * `persists` when there is one (resolve or reject it to let the write go on), else succeeds.
 */
function recordingPorts(commitAnswers: Array<boolean | Error> = []) {
  const calls: string[] = [];
  const persists: Array<ReturnType<typeof deferred>> = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const clock = { now: T0 + 60_000 };
  let checkpointNumber = 0;
  const stub = { inc: () => undefined, set: () => undefined };
  const ports: CheckpointPorts = {
    store: {
      encode: (partition): StateWrite => {
        checkpointNumber += 1;
        calls.push(`encode ${checkpointNumber}`);
        return { partition, messages: [{ key: `progress`, value: Buffer.from(String(checkpointNumber)) }] };
      },
      write: async (write) => {
        calls.push(`persist ${write.messages[0]!.value.toString()}`);
        await persists.shift()?.promise;
        calls.push(`persisted ${write.messages[0]!.value.toString()}`);
      },
    },
    publishAggregates: (messages: OutgoingMessage[]) => {
      calls.push(`publish ${messages.length > 0 ? 'aggregates' : 'no aggregates'}`);
      return Promise.resolve();
    },
    publishSideOutputs: (letters) => {
      calls.push(`publish ${letters.length} side outputs`);
      return Promise.resolve();
    },
    commit: (partition, nextOffset) => {
      calls.push(`commit ${partition}@${nextOffset}`);
      const answer = commitAnswers.shift() ?? true;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    readAgain: (partition) => calls.push(`read ${partition} again`),
    logger: pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          const { level, msg } = JSON.parse(line) as { level: number; msg: string };
          (level >= 50 ? errors : warnings).push(msg);
        },
      },
    ),
    meters: { windowsClosed: stub, viewsEnded: stub, views: stub, watermarkLag: stub },
    now: () => clock.now,
  };
  const checkpoints = new PartitionCheckpoints(PARTITION, ports, {
    settings,
    groupId: 'viewer-analytics',
    publishedProgress: new Map(),
  });
  const analytics = new PartitionAnalytics(PARTITION, settings);
  return { checkpoints, analytics, calls, persists, warnings, errors, clock };
}

/** The calls of checkpoint n's write once its persist was acknowledged: publishes side by side, then the commit. */
function afterPersist(n: number, nextOffset: number): string[] {
  return [`persisted ${n}`, 'publish aggregates', 'publish 0 side outputs', `commit ${PARTITION}@${nextOffset}`];
}

describe('partition checkpoints', () => {
  it('persists, then publishes what depends on it, then commits, after the checkpoint was taken', async () => {
    const { checkpoints, analytics, calls, persists } = recordingPorts();
    applyBatch(analytics, checkpoints, [0, 1, 2]);
    const persisted = deferred();
    persists.push(persisted);
    await checkpoints.checkpoint(analytics);
    // Taken at once; the write waits on the store's acknowledgement before anything is published.
    expect(calls).toEqual(['encode 1', 'persist 1']);
    expect(checkpoints.isWriting).toBe(true);
    persisted.resolve();
    await checkpoints.landed();
    expect(calls).toEqual(['encode 1', 'persist 1', ...afterPersist(1, 3)]);
    expect(checkpoints.isWriting).toBe(false);
    expect(checkpoints.hasUncommitted).toBe(false);
  });

  it('after a failed persist publishes nothing, commits nothing, and has the partition read again', async () => {
    const { checkpoints, analytics, calls, persists, errors } = recordingPorts();
    applyBatch(analytics, checkpoints, [0, 1, 2]);
    const persisted = deferred();
    persists.push(persisted);
    await checkpoints.checkpoint(analytics);
    persisted.reject(new Error('broker gone'));
    await checkpoints.landed();
    expect(calls).toEqual(['encode 1', 'persist 1', `read ${PARTITION} again`]);
    expect(errors).toEqual(['viewer analytics: checkpoint failed; the partition is read again from its last commit']);
    expect(checkpoints.replayNeeded).toBe(true);

    // The state in memory holds what the store lost: no checkpoint is taken from it.
    applyBatch(analytics, checkpoints, [3]);
    await expect(checkpoints.checkpoint(analytics)).rejects.toThrow(
      `partition ${PARTITION}: a checkpoint failed; reading again from the last commit`,
    );
    expect(calls).toEqual(['encode 1', 'persist 1', `read ${PARTITION} again`]);

    // Once the caller forgot it, checkpoints go on from the state it loads again.
    checkpoints.forget();
    expect(checkpoints.replayNeeded).toBe(false);
    expect(checkpoints.hasUncommitted).toBe(false);
  });

  it.each([
    { answer: false, warned: [] },
    {
      answer: new Error('coordinator moved'),
      warned: ['viewer analytics: offset commit failed; the next checkpoint commits'],
    },
  ])(
    'keeps the offsets of a refused or failed commit for the next checkpoint ($answer)',
    async ({ answer, warned }) => {
      const { checkpoints, analytics, calls, warnings } = recordingPorts([answer]);
      applyBatch(analytics, checkpoints, [0, 1, 2]);
      await checkpoints.checkpoint(analytics);
      await checkpoints.landed();
      expect(calls.at(-1)).toBe(`commit ${PARTITION}@3`);
      expect(warnings).toEqual(warned);
      expect(checkpoints.replayNeeded).toBe(false);
      expect(checkpoints.hasUncommitted).toBe(true);

      await checkpoints.checkpoint(analytics);
      await checkpoints.landed();
      expect(calls.at(-1)).toBe(`commit ${PARTITION}@3`);
      expect(checkpoints.hasUncommitted).toBe(false);
    },
  );

  it('commits the later offsets of a batch applied while a refused commit was under way', async () => {
    const { checkpoints, analytics, calls } = recordingPorts([false]);
    applyBatch(analytics, checkpoints, [0, 1, 2]);
    await checkpoints.checkpoint(analytics);
    applyBatch(analytics, checkpoints, [3, 4]);
    await checkpoints.landed();
    await checkpoints.checkpoint(analytics);
    await checkpoints.landed();
    expect(calls.filter((call) => call.startsWith('commit'))).toEqual([
      `commit ${PARTITION}@3`,
      `commit ${PARTITION}@5`,
    ]);
  });

  it('takes a second checkpoint only once the first has landed', async () => {
    const { checkpoints, analytics, calls, persists, clock } = recordingPorts();
    applyBatch(analytics, checkpoints, [0, 1, 2]);
    const first = deferred();
    persists.push(first);
    await checkpoints.checkpoint(analytics);
    applyBatch(analytics, checkpoints, [3, 4]);
    clock.now += settings.emitIntervalMs;
    let secondTaken = false;
    const second = checkpoints.checkpoint(analytics).then(() => {
      secondTaken = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondTaken).toBe(false);
    expect(calls).toEqual(['encode 1', 'persist 1']);

    first.resolve();
    await second;
    await checkpoints.landed();
    expect(calls).toEqual([
      'encode 1',
      'persist 1',
      ...afterPersist(1, 3),
      'encode 2',
      'persist 2',
      ...afterPersist(2, 5),
    ]);
  });
});

describe('checkpointIntervalMs', () => {
  const intervals = { emitIntervalMs: 1_000, catchUpIntervalMs: 5_000, catchUpLagMs: 60_000 };
  const now = T0;
  it.each([
    ['at the live edge with more to read', { watermark: now - 2_000, backlog: 5_000 }, 1_000],
    ['far behind with more to read (a backlog after an outage)', { watermark: now - 600_000, backlog: 5_000 }, 5_000],
    ['far behind with one message waiting', { watermark: now - 600_000, backlog: 1 }, 5_000],
    [
      'far behind having read all there is, so its last offsets commit promptly',
      { watermark: now - 600_000, backlog: 0 },
      1_000,
    ],
    ['exactly at the lag', { watermark: now - 60_000, backlog: 5_000 }, 1_000],
    ['before the first event', { watermark: null, backlog: 5_000 }, 1_000],
  ])('%s', (_case, reading, expected) => {
    expect(checkpointIntervalMs(intervals, reading, now)).toBe(expected);
  });

  it('never checkpoints less often at the live edge than the emit interval, even if the catch-up one is set shorter', () => {
    const settingsShort = { emitIntervalMs: 2_000, catchUpIntervalMs: 500, catchUpLagMs: 60_000 };
    expect(checkpointIntervalMs(settingsShort, { watermark: now - 600_000, backlog: 10 }, now)).toBe(2_000);
  });

  it('makes a checkpoint due by the interval of where the partition is reading', () => {
    const { checkpoints, clock } = recordingPorts();
    const behind = { watermark: clock.now - 600_000, backlog: 10_000 };
    clock.now += settings.emitIntervalMs;
    expect(checkpoints.due(clock.now, behind)).toBe(false);
    expect(checkpoints.due(clock.now, { ...behind, backlog: 0 })).toBe(true);
    clock.now += settings.catchUpIntervalMs - settings.emitIntervalMs;
    expect(checkpoints.due(clock.now, behind)).toBe(true);
  });
});
