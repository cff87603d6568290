import type { MessageBatch } from '../../core/bus/bus.ts';
import type { DeadLetter } from '../../core/dead-letters.ts';
import {
  aggregatesMessageValidator,
  type WatermarkMessage,
  type WindowFinalMessage,
  type WindowRowsMessage,
} from '../../core/analytics/aggregate-messages.ts';

/** One batch of `analytics.aggregates`, sorted by message type; what does not parse goes to dead-letters. */
export interface AggregatesBatch {
  early: WindowRowsMessage[];
  finals: WindowFinalMessage[];
  watermarks: WatermarkMessage[];
  invalid: DeadLetter[];
}

export function readAggregatesBatch(batch: MessageBatch): AggregatesBatch {
  const result: AggregatesBatch = { early: [], finals: [], watermarks: [], invalid: [] };
  for (const message of batch.messages) {
    const origin = `${message.topic}/${message.partition}/${message.offset}`;
    let value: unknown;
    try {
      value = JSON.parse(message.value.toString('utf8'));
    } catch (error) {
      result.invalid.push({
        sourceTopic: message.topic,
        payload: message.value,
        reason: `invalid aggregates message: not JSON (${(error as Error).message})`,
        origin,
      });
      continue;
    }
    if (!aggregatesMessageValidator.check(value)) {
      result.invalid.push({
        sourceTopic: message.topic,
        payload: message.value,
        reason: 'invalid aggregates message',
        errors: aggregatesMessageValidator.errors(value),
        origin,
      });
      continue;
    }
    if (value.type === 'viewer_window_rows') result.early.push(value);
    else if (value.type === 'viewer_window_final') result.finals.push(value);
    else result.watermarks.push(value);
  }
  return result;
}
