import { describe, expect, it } from 'vitest';
import type { EnrichedPlayerEvent } from '../schemas/player-event.ts';
import {
  dateTime,
  dateTime64,
  DEAD_LETTER_PAYLOAD_LIMIT,
  deadLetterRowForClickHouse,
  rawEventForClickHouse,
  viewSummaryForClickHouse,
} from './clickhouse-rows.ts';

const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

describe('ClickHouse rows', () => {
  it('writes times as UTC text, to the second or the millisecond', () => {
    expect(dateTime(at)).toBe('2026-01-02 03:04:05');
    expect(dateTime64(at)).toBe('2026-01-02 03:04:05.678');
  });

  it('flattens a player event into the raw table, with its source position and nothing invented', () => {
    const event: EnrichedPlayerEvent = {
      schema_v: 1,
      event_id: '7b0c3f0e-6d0c-4f57-9a3e-2f3c4d5e6f70',
      event: 'error',
      view_id: 'v',
      view_seq: 4,
      viewer_id: 'u',
      stream_id: 's',
      viewer_time: at,
      player_state: 'fatal_error',
      counters: { watch_ms: 10, playing_ms: 5, rebuffer_count: 1, rebuffer_ms: 2 },
      dimensions: { cdn: 'fastly' },
      error: { code: 'E42', severity: 'fatal', business_exception: true },
      property_id: 'demo',
      event_time: at,
      received_at: at + 1,
      source: 'sdk',
    };
    expect(rawEventForClickHouse(event, 3, '12345')).toMatchObject({
      creator_id: '',
      session_id: '',
      event_time: '2026-01-02 03:04:05.678',
      received_at: '2026-01-02 03:04:05.679',
      ttff_ms: null,
      cdn: 'fastly',
      device: '',
      error_code: 'E42',
      error_severity: 'fatal',
      business_exception: 1,
      source_partition: 3,
      source_offset: '12345',
    });
  });

  it('writes view flags as 0/1 and keeps the version as text (UInt64)', () => {
    const row = viewSummaryForClickHouse(
      {
        view_id: 'v',
        property_id: 'demo',
        stream_id: 's',
        creator_id: 'c',
        viewer_id: 'u',
        started_at: at,
        last_event_at: at,
        ended_at: at,
        end_reason: 'viewend',
        device: '',
        os: '',
        browser: '',
        player: '',
        cdn: '',
        rendition: '',
        country: '',
        watch_ms: 0,
        playing_ms: 0,
        rebuffer_ms: 0,
        rebuffer_count: 0,
        seek_count: 0,
        seek_ms: 0,
        startup_time_ms: null,
        upscale_weighted_ms: 0,
        downscale_weighted_ms: 0,
        max_upscale_pct: 0,
        live_latency_ms: null,
        dropped_frames: 0,
        playback_failure: true,
        startup_failure: true,
        business_exception: false,
        exit_before_start: false,
        error_code: 'X',
        events: 2,
      },
      1,
      '18446744073709551615',
    );
    expect(row).toMatchObject({
      playback_failure: 1,
      startup_failure: 1,
      business_exception: 0,
      exit_before_start: 0,
      version: '18446744073709551615',
      source_partition: 1,
      started_at: '2026-01-02 03:04:05.678',
    });
  });
});

describe('dead letter rows', () => {
  const delivered = (headers: Record<string, string>, value = '{"bad":true}') => ({
    topic: 'dead-letters',
    partition: 2,
    offset: '17',
    key: 'player.events',
    value: Buffer.from(value),
    headers,
    timestamp: at,
  });

  it.each<{ name: string; headers: Record<string, string>; row: object }>([
    {
      name: 'every header',
      headers: {
        'x-source-topic': 'chat.messages',
        'x-reason': 'schema',
        'x-errors': '[{"path":"/text"}]',
        'x-origin': 'chat.messages/1/9',
        'x-failed-at': String(at + 5),
      },
      row: {
        topic: 'chat.messages',
        key: 'chat.messages/1/9',
        reason: 'schema [{"path":"/text"}]',
        failed_at: '2026-01-02 03:04:05.683',
      },
    },
    {
      name: 'no headers: the key names the topic, the broker time stands in',
      headers: {},
      row: { topic: 'player.events', key: '', reason: 'no reason given', failed_at: '2026-01-02 03:04:05.678' },
    },
    {
      name: 'a failed-at that is not a time',
      headers: { 'x-reason': 'late', 'x-failed-at': 'soon' },
      row: { topic: 'player.events', key: '', reason: 'late', failed_at: '2026-01-02 03:04:05.678' },
    },
  ])('$name', ({ headers, row }) => {
    expect(deadLetterRowForClickHouse(delivered(headers))).toEqual({
      ...row,
      partition: 2,
      offset: '17',
      payload: '{"bad":true}',
    });
  });

  it('cuts long payloads in the table (the topic keeps them whole)', () => {
    const row = deadLetterRowForClickHouse(delivered({}, 'x'.repeat(DEAD_LETTER_PAYLOAD_LIMIT + 10)));
    expect(row.payload).toHaveLength(DEAD_LETTER_PAYLOAD_LIMIT);
  });
});
