import { ChannelNotBroadcasting, ThrottlingException } from '@aws-sdk/client-ivs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLiveState } from '../live-state/memory-live-state.ts';
import { TimedMetadataTooLargeError } from './ivs-control-plane.ts';
import { packTimedMetadata, TimedMetadataPublisher } from './timed-metadata.ts';

const ARN = 'arn:aws:ivs:us-east-1:123456789012:channel/AbCdEf';
const logger = pino({ level: 'silent' });

describe('packTimedMetadata', () => {
  it('packs as many items as fit in 1 KB, as a JSON array', () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      type: 'livepulse.clip',
      clip_id: `clip_${String(i).padStart(32, '0')}`,
    }));
    const { payload, count } = packTimedMetadata(items);
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(1024);
    expect(count).toBeGreaterThan(1);
    expect(count).toBeLessThan(40);
    expect(JSON.parse(payload)).toEqual(items.slice(0, count));
  });

  it('counts bytes, not characters', () => {
    const emoji = { text: '🔥'.repeat(300) };
    expect(() => packTimedMetadata([emoji])).toThrow(TimedMetadataTooLargeError);
    expect(packTimedMetadata([{ text: '🔥'.repeat(200) }]).count).toBe(1);
  });
});

describe('TimedMetadataPublisher', () => {
  const liveStates: MemoryLiveState[] = [];
  afterEach(async () => {
    for (const state of liveStates.splice(0)) await state.close();
  });

  function publisherWith(putMetadata: (arn: string, payload: string) => Promise<void>) {
    const liveState = new MemoryLiveState();
    liveStates.push(liveState);
    const outcomes: string[] = [];
    return {
      publisher: new TimedMetadataPublisher({ putMetadata, liveState, logger, onOutcome: (o) => outcomes.push(o) }),
      outcomes,
    };
  }

  it('batches queued items and never calls more than 5 times a second per channel', async () => {
    const calls: Array<{ at: number; payload: string }> = [];
    const { publisher, outcomes } = publisherWith((_arn, payload) => {
      calls.push({ at: performance.now(), payload });
      return Promise.resolve();
    });
    for (let i = 0; i < 7; i++) publisher.enqueue(ARN, { n: i, pad: 'x'.repeat(400) });
    await publisher.flush();
    const items = calls.flatMap((c) => JSON.parse(c.payload) as Array<{ n: number }>).map((i) => i.n);
    expect(items).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) expect(Buffer.byteLength(call.payload)).toBeLessThanOrEqual(1024);
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(7);
  });

  it('paces a burst over several seconds instead of exceeding the channel limit', async () => {
    const calls: number[] = [];
    const { publisher } = publisherWith(() => {
      calls.push(performance.now());
      return Promise.resolve();
    });
    // Each item fills a payload, so 7 items need 7 calls: the sixth must wait for the window.
    for (let i = 0; i < 7; i++) publisher.enqueue(ARN, { pad: 'x'.repeat(700), n: i });
    await publisher.flush();
    expect(calls).toHaveLength(7);
    for (let i = 5; i < calls.length; i++) expect(calls[i]! - calls[i - 5]!).toBeGreaterThanOrEqual(1_000);
  });

  it('drops the queue when the channel is not broadcasting', async () => {
    let calls = 0;
    const { publisher, outcomes } = publisherWith(() => {
      calls++;
      return Promise.reject(new ChannelNotBroadcasting({ message: 'not live', $metadata: {} }));
    });
    publisher.enqueue(ARN, { n: 1 });
    publisher.enqueue(ARN, { n: 2 });
    await publisher.flush();
    expect(calls).toBe(1);
    expect(outcomes).toEqual(['dropped', 'dropped']);
  });

  it('retries throttling and gives up after the last attempt without failing anyone', async () => {
    let calls = 0;
    const { publisher, outcomes } = publisherWith(() => {
      calls++;
      if (calls === 1) return Promise.reject(new ThrottlingException({ message: 'slow down', $metadata: {} }));
      return Promise.resolve();
    });
    publisher.enqueue(ARN, { n: 1 });
    await publisher.flush();
    expect(calls).toBe(2);
    expect(outcomes).toEqual(['sent']);

    const failing = publisherWith(() => Promise.reject(new Error('network down')));
    failing.publisher.enqueue(ARN, { n: 1 });
    await failing.publisher.flush();
    expect(failing.outcomes).toEqual(['dropped']);
  });
});
