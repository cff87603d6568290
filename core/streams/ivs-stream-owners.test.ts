import { describe, expect, it } from 'vitest';
import type { StreamLifecycleEvent } from '../schemas/stream-lifecycle.ts';
import { ivsStreamStarts } from './ivs-stream-owners.ts';

const ARN = 'arn:aws:ivs:us-east-1:123456789012:channel/Ch1';
const lifecycle = (
  kind: StreamLifecycleEvent['kind'],
  extra: Partial<StreamLifecycleEvent> = {},
): StreamLifecycleEvent => ({
  schema_v: 1,
  event_id: `e-${kind}`,
  channel_id: 'Ch1',
  channel_arn: ARN,
  stream_id: 'st-Abc1',
  kind,
  occurred_at: 1_800_000_000_000,
  ...extra,
});
const batchOf = (...values: unknown[]) =>
  ({
    messages: values.map((v) => ({ value: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)) })),
  }) as Parameters<typeof ivsStreamStarts>[0];

describe('ivsStreamStarts', () => {
  it.each([
    ['a Stream Start with its channel', [lifecycle('stream_start')], [{ streamId: 'st-Abc1', channelArn: ARN }]],
    ['other lifecycle kinds', [lifecycle('stream_end'), lifecycle('recording_start'), lifecycle('stream_failure')], []],
    [
      'a Stream Start without a channel ARN (a local channel)',
      [lifecycle('stream_start', { channel_arn: undefined })],
      [],
    ],
    [
      'bytes that are not JSON, or not a lifecycle event',
      ['{nope', { kind: 'stream_start', stream_id: 'st-Abc1' }],
      [],
    ],
  ] as const)('%s', (_what, values, expected) => {
    expect(ivsStreamStarts(batchOf(...values))).toEqual(expected);
  });
});
