import type { MessageBatch } from '../../core/bus/bus.ts';
import type { DeadLetter } from '../../core/dead-letters.ts';
import { highlightValidator } from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';

/** `highlights` as rows of the `highlights` table; a replayed highlight has the same id and replaces its row. */
export interface HighlightRow extends Record<string, unknown> {
  highlight_id: string;
  stream_id: string;
  window_start: string;
  window_end: string;
  score: number;
  reasons: string[];
  requested_by: string;
  detected_at: string;
}

function clickHouseTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

export function highlightRows(batch: MessageBatch): { rows: HighlightRow[]; deadLetters: DeadLetter[] } {
  const rows: HighlightRow[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const message of batch.messages) {
    const parsed = parseJsonPayload(message.value);
    if (!highlightValidator.check(parsed)) {
      deadLetters.push({
        sourceTopic: TOPICS.highlights,
        payload: message.value,
        reason: 'highlight is invalid',
        errors: highlightValidator.errors(parsed),
        origin: `${batch.topic}/${batch.partition}/${message.offset}`,
      });
      continue;
    }
    rows.push({
      highlight_id: parsed.highlight_id,
      stream_id: parsed.stream_id,
      window_start: clickHouseTime(parsed.start),
      window_end: clickHouseTime(parsed.end),
      score: parsed.score,
      reasons: parsed.reasons,
      requested_by: parsed.requested_by ?? '',
      detected_at: clickHouseTime(parsed.detected_at),
    });
  }
  return { rows, deadLetters };
}
