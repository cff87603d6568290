import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BusBackpressureError, type OutgoingMessage } from './bus.ts';
import { LingeringPublisher, type SendBatch } from './lingering-publisher.ts';

const msg = (key: string): OutgoingMessage => ({ key, value: Buffer.from(key) });

function recordingSender() {
  const batches: Array<Array<{ topic: string; keys: string[] }>> = [];
  const send: SendBatch = (batch) => {
    batches.push(batch.map((b) => ({ topic: b.topic, keys: b.messages.map((m) => m.key) })));
    return Promise.resolve();
  };
  return { batches, send };
}

describe('LingeringPublisher', () => {
  it('merges publishes made within the linger window into one batch, grouped by topic', async () => {
    const { batches, send } = recordingSender();
    const publisher = new LingeringPublisher(send, { lingerMs: 20, maxBatchMessages: 100, maxBufferedMessages: 1000 });
    await Promise.all([
      publisher.publish('a', [msg('1')]),
      publisher.publish('b', [msg('2')]),
      publisher.publish('a', [msg('3'), msg('4')]),
    ]);
    expect(batches).toEqual([
      [
        { topic: 'a', keys: ['1', '3', '4'] },
        { topic: 'b', keys: ['2'] },
      ],
    ]);
    expect(publisher.buffered).toBe(0);
  });

  it.each([
    { name: 'batch size reached', lingerMs: 60_000, maxBatchMessages: 2 },
    { name: 'linger of zero', lingerMs: 0, maxBatchMessages: 100 },
  ])('sends without waiting when $name', async ({ lingerMs, maxBatchMessages }) => {
    const { batches, send } = recordingSender();
    const publisher = new LingeringPublisher(send, { lingerMs, maxBatchMessages, maxBufferedMessages: 1000 });
    await publisher.publish('a', [msg('1'), msg('2')]);
    expect(batches).toHaveLength(1);
  });

  it('refuses a publish that would exceed the buffer, and accepts again once acknowledged', async () => {
    let release!: () => void;
    const send: SendBatch = () => new Promise<void>((resolve) => (release = resolve));
    const publisher = new LingeringPublisher(send, { lingerMs: 0, maxBatchMessages: 10, maxBufferedMessages: 3 });
    const first = publisher.publish('a', [msg('1'), msg('2')]);
    await expect(publisher.publish('a', [msg('3'), msg('4')])).rejects.toBeInstanceOf(BusBackpressureError);
    release();
    await first;
    await expect(Promise.race([publisher.publish('a', [msg('5')]), Promise.resolve('queued')])).resolves.toBe('queued');
    release();
    await publisher.drain();
    expect(publisher.buffered).toBe(0);
  });

  it('takes one publish larger than the whole buffer when nothing else is buffered, and nothing beside it', async () => {
    // A changelog checkpoint must land whole; refusing it for ever would stall its partition.
    let release!: () => void;
    const sent: string[][] = [];
    const send: SendBatch = (batch) => {
      sent.push(batch.flatMap((b) => b.messages.map((m) => m.key)));
      return new Promise<void>((resolve) => (release = resolve));
    };
    const publisher = new LingeringPublisher(send, { lingerMs: 0, maxBatchMessages: 10, maxBufferedMessages: 3 });
    const first = publisher.publish('a', [msg('0'), msg('1')]);
    release();
    await first;
    await publisher.drain();
    const oversized = publisher.publish('a', [msg('2'), msg('3'), msg('4'), msg('5'), msg('6')]);
    expect(publisher.buffered).toBe(5);
    await expect(publisher.publish('a', [msg('7')])).rejects.toBeInstanceOf(BusBackpressureError);
    // While others are in flight, an oversized publish waits its turn: refused, to be tried again.
    release();
    await oversized;
    await publisher.drain();
    const small = publisher.publish('a', [msg('8')]);
    await expect(publisher.publish('a', [msg('9'), msg('10'), msg('11'), msg('12')])).rejects.toBeInstanceOf(
      BusBackpressureError,
    );
    release();
    await small;
    await publisher.drain();
    expect(sent).toEqual([['0', '1'], ['2', '3', '4', '5', '6'], ['8']]);
    expect(publisher.buffered).toBe(0);
  });

  it('rejects every publish that shared a failed batch', async () => {
    const send: SendBatch = () => Promise.reject(new Error('broker down'));
    const publisher = new LingeringPublisher(send, { lingerMs: 5, maxBatchMessages: 100, maxBufferedMessages: 100 });
    const results = await Promise.allSettled([publisher.publish('a', [msg('1')]), publisher.publish('a', [msg('2')])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(publisher.buffered).toBe(0);
  });

  it('holds publishes while a send is in flight at the limit, then sends them together', async () => {
    const batches: string[][] = [];
    const releases: Array<() => void> = [];
    const send: SendBatch = (batch) => {
      batches.push(batch.flatMap((b) => b.messages.map((m) => m.key)));
      return new Promise<void>((resolve) => releases.push(resolve));
    };
    const publisher = new LingeringPublisher(send, {
      lingerMs: 1,
      maxBatchMessages: 100,
      maxBufferedMessages: 1000,
      maxConcurrentSends: 1,
    });
    const first = publisher.publish('a', [msg('1')]);
    await sleep(10);
    const later = [publisher.publish('a', [msg('2')]), publisher.publish('a', [msg('3')])];
    await sleep(10);
    expect(batches).toEqual([['1']]);
    releases[0]!();
    await first;
    await sleep(0);
    expect(batches).toEqual([['1'], ['2', '3']]);
    releases[1]!();
    await Promise.all(later);
  });

  it('splits what waits into batches of at most maxBatchMessages, keeping each publish whole', async () => {
    const { batches, send } = recordingSender();
    const publisher = new LingeringPublisher(send, {
      lingerMs: 50,
      maxBatchMessages: 3,
      maxBufferedMessages: 1000,
      maxConcurrentSends: 1,
    });
    await Promise.all([
      publisher.publish('a', [msg('1'), msg('2')]),
      publisher.publish('a', [msg('3'), msg('4')]),
      publisher.publish('a', [msg('5'), msg('6'), msg('7'), msg('8')]),
    ]);
    expect(batches.map((b) => b[0]!.keys)).toEqual([
      ['1', '2'],
      ['3', '4'],
      ['5', '6', '7', '8'],
    ]);
  });

  it('never merges publishes past maxBatchBytes (Kafka refuses record batches over 1 MiB)', async () => {
    const { batches, send } = recordingSender();
    const publisher = new LingeringPublisher(send, {
      lingerMs: 20,
      maxBatchMessages: 1000,
      maxBufferedMessages: 1000,
      maxBatchBytes: 1000,
    });
    const big = (key: string) => ({ key, value: Buffer.alloc(400) });
    await Promise.all(['1', '2', '3', '4', '5'].map((k) => publisher.publish('a', [big(k)])));
    expect(batches.map((b) => b[0]!.keys)).toEqual([['1', '2'], ['3', '4'], ['5']]);
  });
});
