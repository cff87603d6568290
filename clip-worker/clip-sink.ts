import type { MessageBatch } from '../core/bus/bus.ts';
import type { DeadLetter } from '../core/dead-letters.ts';
import { clipEventValidator } from '../core/schemas/highlight.ts';
import { TOPICS } from '../core/topics.ts';
import { parseJsonPayload } from '../core/schemas/validate.ts';

/**
 * `clips` events as rows of the `clips` table (a ReplacingMergeTree on finished_at: the latest
 * event of a clip wins). Written with the batch's deduplication token, so a redelivered batch
 * adds nothing.
 */
/** DateTime64(3, 'UTC') as ClickHouse reads it from JSON. */
function toClickHouseTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

export interface ClipRow extends Record<string, unknown> {
  clip_id: string;
  highlight_id: string;
  stream_id: string;
  status: string;
  window_start: string;
  window_end: string;
  duration_ms: number;
  outputs: Record<string, string>;
  reason: string;
  finished_at: string;
}

export function clipRows(batch: MessageBatch): { rows: ClipRow[]; deadLetters: DeadLetter[] } {
  const rows: ClipRow[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const message of batch.messages) {
    const event = parseJsonPayload(message.value);
    if (!clipEventValidator.check(event)) {
      deadLetters.push({
        sourceTopic: TOPICS.clips,
        payload: message.value,
        reason: 'clip event is invalid',
        errors: clipEventValidator.errors(event),
        origin: `${batch.topic}/${batch.partition}/${message.offset}`,
      });
      continue;
    }
    rows.push({
      clip_id: event.clip_id,
      highlight_id: event.highlight_id,
      stream_id: event.stream_id,
      status: event.status,
      window_start: toClickHouseTime(event.start),
      window_end: toClickHouseTime(event.end),
      duration_ms: event.duration_ms ?? 0,
      outputs: event.outputs ?? {},
      reason: event.reason ?? '',
      finished_at: toClickHouseTime(event.finished_at),
    });
  }
  return { rows, deadLetters };
}
