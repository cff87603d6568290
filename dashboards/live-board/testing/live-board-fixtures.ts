import type { ChatMessage, ChatVerdict } from '../../../core/schemas/chat.ts';
import type { ClipEvent, Highlight } from '../../../core/schemas/highlight.ts';
import type { AggregatesMessage, WindowRow } from '../../../core/analytics/aggregate-messages.ts';

/** Events as their topics carry them, for the live board's tests. */
export const T0 = 1_750_000_000_000;

export function windowRow(
  streamId: string,
  windowStart: number,
  concurrent: number,
  dimension: WindowRow['dimension'] = 'all',
): WindowRow {
  return {
    property_id: 'demo',
    creator_id: `creator-of-${streamId}`,
    stream_id: streamId,
    dimension,
    dimension_value: dimension === 'all' ? '' : 'x',
    window_start: windowStart,
    concurrent_views: concurrent,
    views_started: 0,
    viewer_ids: [],
    watch_ms: 0,
    playing_ms: 0,
    rebuffer_ms: 0,
    rebuffer_count: 0,
  };
}

export function rowsMessage(sourcePartition: number, version: number, rows: WindowRow[]): AggregatesMessage {
  return {
    type: 'viewer_window_rows',
    group: 'viewer-analytics',
    source_partition: sourcePartition,
    version: String(version),
    emitted_at: T0,
    rows,
  };
}

export function chatMessage(
  streamId: string,
  sentAt: number,
  index: number,
  decision: ChatMessage['heuristic_decision'] = 'allow',
): ChatMessage {
  return {
    schema_v: 1,
    message_id: `m-${streamId}-${index}`,
    stream_id: streamId,
    user_id: `u${index % 3}`,
    display_name: 'Viewer',
    text: 'hi',
    sent_at: sentAt,
    heuristic_decision: decision,
    flags: [],
  };
}

export function verdict(streamId: string, action: ChatVerdict['action'], index: number): ChatVerdict {
  return {
    schema_v: 1,
    verdict_id: `v-${index}`,
    stream_id: streamId,
    source: 'moderator',
    action,
    reason: 'test',
    flags: [],
    decided_at: T0,
  };
}

export function highlight(streamId: string, id: string, detectedAt: number): Highlight {
  return {
    schema_v: 1,
    highlight_id: id,
    stream_id: streamId,
    start: detectedAt - 10_000,
    end: detectedAt,
    score: 4.2,
    reasons: ['chat_spike'],
    detected_at: detectedAt,
  };
}

export function clipEvent(
  streamId: string,
  clipId: string,
  status: ClipEvent['status'],
  finishedAt: number,
  outputs: Record<string, string> = {},
): ClipEvent {
  return {
    schema_v: 1,
    clip_id: clipId,
    highlight_id: `h-${clipId}`,
    stream_id: streamId,
    status,
    start: finishedAt - 20_000,
    end: finishedAt - 10_000,
    outputs,
    duration_ms: 10_000,
    finished_at: finishedAt,
  };
}
