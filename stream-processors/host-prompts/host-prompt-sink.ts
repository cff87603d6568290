import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { batchDedupToken, insertRows } from '../../core/analytics-store/insert.ts';
import type { Bus, MessageBatch } from '../../core/bus/bus.ts';
import { publishDeadLetters, type DeadLetter } from '../../core/dead-letters.ts';
import { hostPromptValidator, type HostPrompt } from '../../core/schemas/chat.ts';
import { dateTime64 } from '../../core/analytics/clickhouse-rows.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';

export const HOST_PROMPT_SINK_GROUP = 'host-prompts.sink';

/** A prompt as the content team's boards read it (migration 0040): askers as a count, not names. */
export function hostPromptRow(p: HostPrompt) {
  return {
    prompt_id: p.prompt_id,
    stream_id: p.stream_id,
    created_at: dateTime64(p.created_at),
    window_start: dateTime64(p.window_start),
    window_end: dateTime64(p.window_end),
    source: p.source,
    model: p.model ?? '',
    priority: p.priority,
    prompt: p.prompt,
    rationale: p.rationale,
    asker_count: p.askers.length,
    source_message_ids: p.source_message_ids,
  };
}

/** `host.prompts` into ClickHouse, one insert per bus batch under the batch's deduplication token. */
export function createHostPromptSink(bus: Bus, analytics: AnalyticsStore) {
  return async (batch: MessageBatch): Promise<void> => {
    const rows: Array<ReturnType<typeof hostPromptRow>> = [];
    const deadLetters: DeadLetter[] = [];
    for (const message of batch.messages) {
      const value = parseJsonPayload(message.value);
      if (hostPromptValidator.check(value)) rows.push(hostPromptRow(value));
      else {
        deadLetters.push({
          sourceTopic: batch.topic,
          payload: message.value,
          reason: 'not a valid HostPrompt',
          errors: hostPromptValidator.errors(value),
          origin: `${batch.topic}/${batch.partition}/${message.offset}`,
        });
      }
    }
    await insertRows(analytics, { table: 'host_prompts', rows, dedupToken: batchDedupToken(batch) });
    if (deadLetters.length > 0) await publishDeadLetters(bus, deadLetters);
  };
}
