import type { DeliveredMessage } from '../bus/bus.ts';
import { DEAD_LETTER_HEADERS } from '../dead-letters.ts';
import type { EnrichedPlayerEvent } from '../schemas/player-event.ts';
import type { ViewSummary, WatermarkMessage, WindowRow } from './aggregate-messages.ts';

/**
 * Rows as the ClickHouse tables of migrations 0020/0021 take them (JSONEachRow). Times go as
 * UTC text: ClickHouse reads a bare number into DateTime64 in the column's precision, which is
 * easy to get wrong by a factor of 1000.
 */
export function dateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function dateTime64(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

export function windowRowForClickHouse(row: WindowRow, sourcePartition: number, version: string) {
  return {
    property_id: row.property_id,
    creator_id: row.creator_id,
    stream_id: row.stream_id,
    dimension: row.dimension,
    dimension_value: row.dimension_value,
    window_start: dateTime(row.window_start),
    source_partition: sourcePartition,
    concurrent_views: row.concurrent_views,
    views_started: row.views_started,
    viewer_ids: row.viewer_ids,
    watch_ms: row.watch_ms,
    playing_ms: row.playing_ms,
    rebuffer_ms: row.rebuffer_ms,
    rebuffer_count: row.rebuffer_count,
    version,
  };
}

export function watermarkRowForClickHouse(message: WatermarkMessage) {
  return {
    consumer_group: message.group,
    source_partition: message.source_partition,
    watermark: dateTime64(message.watermark),
    watermark_window_start: dateTime(message.watermark_window_start),
    closed_before: dateTime(Math.max(0, message.closed_before)),
    version: message.version,
    emitted_at: dateTime64(message.emitted_at),
  };
}

export function viewSummaryForClickHouse(view: ViewSummary, sourcePartition: number, version: string) {
  // Object.assign rather than `{...view, more}`, a literal V8 builds and serialises slowly.
  return Object.assign({}, view, {
    source_partition: sourcePartition,
    started_at: dateTime64(view.started_at),
    last_event_at: dateTime64(view.last_event_at),
    ended_at: dateTime64(view.ended_at),
    playback_failure: view.playback_failure ? 1 : 0,
    startup_failure: view.startup_failure ? 1 : 0,
    business_exception: view.business_exception ? 1 : 0,
    exit_before_start: view.exit_before_start ? 1 : 0,
    version,
  });
}

export function rawEventForClickHouse(event: EnrichedPlayerEvent, sourcePartition: number, sourceOffset: string) {
  const c = event.counters;
  const d = event.dimensions ?? {};
  return {
    property_id: event.property_id,
    stream_id: event.stream_id,
    creator_id: event.creator_id ?? '',
    view_id: event.view_id,
    viewer_id: event.viewer_id,
    session_id: event.session_id ?? '',
    event_id: event.event_id,
    event: event.event,
    view_seq: event.view_seq,
    player_state: event.player_state,
    event_time: dateTime64(event.event_time),
    received_at: dateTime64(event.received_at),
    viewer_time: dateTime64(event.viewer_time),
    source: event.source,
    playhead_ms: event.playhead_ms ?? null,
    watch_ms: c.watch_ms,
    playing_ms: c.playing_ms,
    rebuffer_count: c.rebuffer_count,
    rebuffer_ms: c.rebuffer_ms,
    seek_count: c.seek_count ?? null,
    seek_ms: c.seek_ms ?? null,
    ttff_ms: c.ttff_ms ?? null,
    upscale_weighted_ms: c.upscale_weighted_ms ?? null,
    live_latency_ms: c.live_latency_ms ?? null,
    dropped_frames: c.dropped_frames ?? null,
    device: d.device ?? '',
    os: d.os ?? '',
    browser: d.browser ?? '',
    player_name: d.player_name ?? '',
    player_version: d.player_version ?? '',
    cdn: d.cdn ?? '',
    rendition: d.rendition ?? '',
    country: d.country ?? '',
    error_code: event.error?.code ?? '',
    error_severity: event.error?.severity ?? '',
    business_exception: event.error?.business_exception ? 1 : 0,
    source_partition: sourcePartition,
    source_offset: sourceOffset,
  };
}

/** Payloads longer than this are cut in the table; the whole letter stays on the topic. */
export const DEAD_LETTER_PAYLOAD_LIMIT = 65_536;

/**
 * A `dead-letters` message as a `dead_letters` row. `topic` is the source topic; `partition` and
 * `offset` are the letter's own position on `dead-letters`, which is where a replay reads it from;
 * `key` is its origin (`player.events/3/1200`, `POST /v1/events`, …). The field errors follow the
 * reason. Letters from before the headers existed still land, with what they have.
 */
export function deadLetterRowForClickHouse(message: DeliveredMessage) {
  const headers = message.headers;
  const failedAt = Number(headers[DEAD_LETTER_HEADERS.failedAt]);
  const errors = headers[DEAD_LETTER_HEADERS.errors];
  return {
    topic: headers[DEAD_LETTER_HEADERS.sourceTopic] ?? message.key ?? '',
    partition: message.partition,
    offset: message.offset,
    key: headers[DEAD_LETTER_HEADERS.origin] ?? '',
    reason: `${headers[DEAD_LETTER_HEADERS.reason] ?? 'no reason given'}${errors ? ` ${errors}` : ''}`,
    payload: message.value.subarray(0, DEAD_LETTER_PAYLOAD_LIMIT).toString('utf8'),
    failed_at: dateTime64(Number.isFinite(failedAt) && failedAt > 0 ? failedAt : message.timestamp),
  };
}
