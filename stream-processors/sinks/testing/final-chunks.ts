import type { OutgoingMessage } from '../../../core/bus/bus.ts';
import {
  windowFinalMessages,
  type ViewSummary,
  type WindowFinalMessage,
  type WindowRow,
} from '../../../core/analytics/aggregate-messages.ts';

/** Closed windows as the processor publishes them, for the sink's tests. */
export function windowRow(i: number, windowStart: number, propertyId = 'demo'): WindowRow {
  return {
    property_id: propertyId,
    creator_id: 'creator-1',
    stream_id: `stream-${i % 3}`,
    dimension: 'device',
    dimension_value: `device-${i}`,
    window_start: windowStart,
    concurrent_views: 1 + (i % 5),
    views_started: 1,
    viewer_ids: [`viewer-${i}`],
    watch_ms: 10_000,
    playing_ms: 9_000,
    rebuffer_ms: i % 2,
    rebuffer_count: i % 2,
  };
}

export function viewSummary(i: number, endedAt: number, propertyId = 'demo'): ViewSummary {
  return {
    view_id: `view-${i}`,
    property_id: propertyId,
    stream_id: `stream-${i % 3}`,
    creator_id: 'creator-1',
    viewer_id: `viewer-${i}`,
    started_at: endedAt - 60_000,
    last_event_at: endedAt - 25_000,
    ended_at: endedAt,
    end_reason: 'silence',
    device: 'desktop',
    os: '',
    browser: '',
    player: '',
    cdn: '',
    rendition: '',
    country: '',
    watch_ms: 30_000,
    playing_ms: 29_000,
    rebuffer_ms: 0,
    rebuffer_count: 0,
    seek_count: 0,
    seek_ms: 0,
    startup_time_ms: 500 + i,
    upscale_weighted_ms: 0,
    downscale_weighted_ms: 0,
    max_upscale_pct: 0,
    live_latency_ms: null,
    dropped_frames: 0,
    playback_failure: false,
    startup_failure: false,
    business_exception: false,
    exit_before_start: false,
    error_code: '',
    events: 4,
  };
}

/**
 * One closed window of one source partition: `rows` window rows and `views` ended views (their
 * `ended_at` from `endedAt(i)`), cut into chunks of at most `maxBytes`.
 */
export function closedWindow(options: {
  sourcePartition: number;
  windowStart: number;
  rows: number;
  views: number;
  endedAt?: (i: number) => number;
  maxBytes?: number;
  group?: string;
  propertyId?: string;
}): { messages: OutgoingMessage[]; parsed: WindowFinalMessage[] } {
  const { sourcePartition, windowStart, group = 'viewer-analytics', propertyId = 'demo' } = options;
  const rows = Array.from({ length: options.rows }, (_, i) => windowRow(i, windowStart, propertyId));
  const views = Array.from({ length: options.views }, (_, i) =>
    viewSummary(i + windowStart / 1000, options.endedAt?.(i) ?? windowStart + 5_000, propertyId),
  );
  const messages = windowFinalMessages(
    {
      group,
      source_partition: sourcePartition,
      window_start: windowStart,
      version: String(windowStart),
      emitted_at: windowStart + 10_000,
    },
    rows,
    views,
    options.maxBytes,
  );
  return { messages, parsed: messages.map((m) => JSON.parse(m.value.toString('utf8')) as WindowFinalMessage) };
}
