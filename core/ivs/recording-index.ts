import type { AnalyticsStore } from '../analytics-store/analytics-store.ts';
import { batchDedupToken, insertRows } from '../analytics-store/insert.ts';
import type { MessageBatch } from '../bus/bus.ts';
import type { DeadLetter } from '../dead-letters.ts';
import { normaliseRecordingPrefix, parseRecordingPrefix } from './recording-layout.ts';
import { streamLifecycleValidator, type StreamLifecycleEvent } from '../schemas/stream-lifecycle.ts';
import { TOPICS } from '../topics.ts';

/**
 * The recording index: which object-store prefix holds the IVS recording of a stream, built from
 * the recording state changes on `stream.lifecycle` (EventBridge "IVS Recording State Change",
 * normalised by the collector). EventBridge delivers best effort — late, twice, out of order —
 * so every event is one row keyed by its id, and readers aggregate per prefix.
 */
const RECORDING_KINDS = new Set<StreamLifecycleEvent['kind']>([
  'recording_start',
  'recording_end',
  'recording_failure',
]);

function toClickHouseTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

export interface RecordingEventRow extends Record<string, unknown> {
  event_id: string;
  channel_id: string;
  stream_id: string;
  kind: string;
  occurred_at: string;
  recording_prefix: string;
  recording_bucket: string;
  reason: string;
}

/** Rows for the recording events of a batch, and dead letters for what could not be read. */
export function recordingEventRows(batch: MessageBatch): { rows: RecordingEventRow[]; deadLetters: DeadLetter[] } {
  const rows: RecordingEventRow[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const message of batch.messages) {
    const origin = `${batch.topic}/${batch.partition}/${message.offset}`;
    let event: unknown;
    try {
      event = JSON.parse(message.value.toString('utf8'));
    } catch {
      deadLetters.push({
        sourceTopic: TOPICS.streamLifecycle,
        payload: message.value,
        reason: 'stream lifecycle event is not JSON',
        origin,
      });
      continue;
    }
    if (!streamLifecycleValidator.check(event)) {
      deadLetters.push({
        sourceTopic: TOPICS.streamLifecycle,
        payload: message.value,
        reason: 'stream lifecycle event is invalid',
        errors: streamLifecycleValidator.errors(event),
        origin,
      });
      continue;
    }
    if (!RECORDING_KINDS.has(event.kind)) continue;
    let prefix = '';
    if (event.recording_prefix) {
      try {
        prefix = normaliseRecordingPrefix(event.recording_prefix);
      } catch (error) {
        deadLetters.push({
          sourceTopic: TOPICS.streamLifecycle,
          payload: message.value,
          reason: error instanceof Error ? error.message : String(error),
          origin,
        });
        continue;
      }
    }
    rows.push({
      event_id: event.event_id,
      channel_id: event.channel_id,
      stream_id: event.stream_id,
      kind: event.kind,
      occurred_at: toClickHouseTime(event.occurred_at),
      recording_prefix: prefix,
      recording_bucket: event.recording_bucket ?? '',
      reason: event.reason ?? '',
    });
  }
  return { rows, deadLetters };
}

export async function writeRecordingEvents(
  store: AnalyticsStore,
  batch: MessageBatch,
  rows: RecordingEventRow[],
): Promise<void> {
  await insertRows(store, { table: 'recording_events', rows, dedupToken: batchDedupToken(batch) });
}

export interface RecordingCandidate {
  prefix: string;
  channelId: string;
  accountId: string;
  bucket: string;
  /** From the Recording Start event, when it arrived. */
  startedAtMs?: number;
  /** From the Recording End event, when it arrived. */
  endedAtMs?: number;
  failed: boolean;
}

export interface RecordingLocator {
  /** Recordings of a stream, oldest first (usually one; several after a failed reconnect). */
  recordingsOf(streamId: string): Promise<RecordingCandidate[]>;
}

interface RecordingSummaryRow {
  recording_prefix: string;
  channel_id: string;
  recording_bucket: string;
  started_at: number | null;
  ended_at: number | null;
  failures: number;
}

export class ClickHouseRecordingLocator implements RecordingLocator {
  constructor(private readonly store: AnalyticsStore) {}

  async recordingsOf(streamId: string): Promise<RecordingCandidate[]> {
    const result = await this.store.client.query({
      query: `
        SELECT
          recording_prefix,
          any(channel_id) AS channel_id,
          anyIf(recording_bucket, recording_bucket != '') AS recording_bucket,
          if(countIf(kind = 'recording_start') > 0, toUnixTimestamp64Milli(minIf(occurred_at, kind = 'recording_start')), NULL) AS started_at,
          if(countIf(kind = 'recording_end') > 0, toUnixTimestamp64Milli(maxIf(occurred_at, kind = 'recording_end')), NULL) AS ended_at,
          toUInt32(countIf(kind = 'recording_failure')) AS failures
        FROM recording_events FINAL
        WHERE stream_id = {streamId:String} AND recording_prefix != ''
        GROUP BY recording_prefix
        ORDER BY recording_prefix`,
      query_params: { streamId },
      format: 'JSONEachRow',
    });
    const rows = await result.json<RecordingSummaryRow>();
    return rows
      .map((row) => {
        const candidate: RecordingCandidate = {
          prefix: row.recording_prefix,
          channelId: row.channel_id,
          accountId: parseRecordingPrefix(row.recording_prefix).accountId,
          bucket: row.recording_bucket,
          failed: row.failures > 0,
        };
        if (row.started_at !== null) candidate.startedAtMs = Number(row.started_at);
        if (row.ended_at !== null) candidate.endedAtMs = Number(row.ended_at);
        return candidate;
      })
      .sort(
        (a, b) =>
          parseRecordingPrefix(a.prefix).startedAt.getTime() - parseRecordingPrefix(b.prefix).startedAt.getTime(),
      );
  }
}

/**
 * The recording most likely to hold the window: the one whose known span overlaps it most (a
 * recording without an end event yet is taken as still going). `slackMs` absorbs the difference
 * between event times and the media's program date-times.
 */
export function chooseRecording(
  candidates: RecordingCandidate[],
  window: { startMs: number; endMs: number },
  slackMs = 60_000,
): RecordingCandidate | null {
  let best: RecordingCandidate | null = null;
  let bestOverlap = 0;
  for (const candidate of candidates) {
    const start = (candidate.startedAtMs ?? parseRecordingPrefix(candidate.prefix).startedAt.getTime()) - slackMs;
    const end = candidate.endedAtMs === undefined ? Infinity : candidate.endedAtMs + slackMs;
    const overlap = Math.min(window.endMs, end) - Math.max(window.startMs, start);
    if (overlap > bestOverlap) {
      best = candidate;
      bestOverlap = overlap;
    }
  }
  return best;
}
