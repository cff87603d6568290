import { describe, expect, it } from 'vitest';
import type { MessageBatch } from '../bus/bus.ts';
import type { StreamLifecycleEvent } from '../schemas/stream-lifecycle.ts';
import { chooseRecording, recordingEventRows, type RecordingCandidate } from './recording-index.ts';

const PREFIX = 'ivs/v1/123456789012/AbCdEf/2026/3/1/10/0/Rec1';

function batch(values: unknown[]): MessageBatch {
  const messages = values.map((value, i) => ({
    topic: 'stream.lifecycle',
    partition: 0,
    offset: String(i),
    key: 'AbCdEf',
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: {},
    timestamp: 0,
  }));
  return { topic: 'stream.lifecycle', partition: 0, messages, firstOffset: '0', lastOffset: String(values.length - 1) };
}

const event = (
  kind: StreamLifecycleEvent['kind'],
  extra: Partial<StreamLifecycleEvent> = {},
): StreamLifecycleEvent => ({
  schema_v: 1,
  event_id: `ev-${kind}`,
  channel_id: 'AbCdEf',
  stream_id: 'st-1',
  kind,
  occurred_at: Date.parse('2026-03-01T10:00:05Z'),
  ...extra,
});

describe('recordingEventRows', () => {
  it('keeps recording events with their normalised prefix and skips stream events', () => {
    const { rows, deadLetters } = recordingEventRows(
      batch([
        event('stream_start'),
        event('recording_start', { recording_prefix: `${PREFIX}/`, recording_bucket: 'media' }),
        event('recording_end', { recording_prefix: PREFIX }),
      ]),
    );
    expect(deadLetters).toEqual([]);
    expect(rows).toEqual([
      {
        event_id: 'ev-recording_start',
        channel_id: 'AbCdEf',
        stream_id: 'st-1',
        kind: 'recording_start',
        occurred_at: '2026-03-01 10:00:05.000',
        recording_prefix: PREFIX,
        recording_bucket: 'media',
        reason: '',
      },
      {
        event_id: 'ev-recording_end',
        channel_id: 'AbCdEf',
        stream_id: 'st-1',
        kind: 'recording_end',
        occurred_at: '2026-03-01 10:00:05.000',
        recording_prefix: PREFIX,
        recording_bucket: '',
        reason: '',
      },
    ]);
  });

  it('dead-letters what it cannot read, with the reason', () => {
    const { rows, deadLetters } = recordingEventRows(
      batch([
        'nope',
        { ...event('recording_start'), kind: 'exploded' },
        event('recording_start', { recording_prefix: 'videos/x' }),
      ]),
    );
    expect(rows).toEqual([]);
    expect(deadLetters.map((d) => d.reason)).toEqual([
      'stream lifecycle event is not JSON',
      'stream lifecycle event is invalid',
      expect.stringMatching(/not an IVS recording prefix/),
    ]);
    expect(deadLetters[1]!.origin).toBe('stream.lifecycle/0/1');
  });
});

describe('chooseRecording', () => {
  const at = (time: string) => Date.parse(time);
  const first: RecordingCandidate = {
    prefix: 'ivs/v1/123456789012/c/2026/3/1/10/0/A',
    channelId: 'c',
    accountId: '123456789012',
    bucket: '',
    startedAtMs: at('2026-03-01T10:00:00Z'),
    endedAtMs: at('2026-03-01T10:30:00Z'),
    failed: false,
  };
  const second: RecordingCandidate = {
    prefix: 'ivs/v1/123456789012/c/2026/3/1/10/40/B',
    channelId: 'c',
    accountId: '123456789012',
    bucket: '',
    startedAtMs: at('2026-03-01T10:40:00Z'),
    failed: false,
  };

  it.each([
    ['inside the first recording', '2026-03-01T10:10:00Z', 'A'],
    ['inside the second, still going', '2026-03-01T11:30:00Z', 'B'],
    ['just after the first ended (events lag the media)', '2026-03-01T10:30:20Z', 'A'],
  ])('picks the recording %s', (_what, start, id) => {
    const window = { startMs: at(start), endMs: at(start) + 30_000 };
    expect(chooseRecording([first, second], window)!.prefix.endsWith(id)).toBe(true);
  });

  it('finds nothing when no recording spans the window', () => {
    expect(
      chooseRecording([first], { startMs: at('2026-03-01T09:00:00Z'), endMs: at('2026-03-01T09:00:30Z') }),
    ).toBeNull();
    expect(chooseRecording([], { startMs: 0, endMs: 1 })).toBeNull();
  });
});
