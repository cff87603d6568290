import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { batchDedupToken, insertRows } from '../../core/analytics-store/insert.ts';
import type { Bus, MessageBatch } from '../../core/bus/bus.ts';
import { publishDeadLetters, type DeadLetter } from '../../core/dead-letters.ts';
import {
  chatMessageValidator,
  chatVerdictValidator,
  type ChatMessage,
  type ChatVerdict,
} from '../../core/schemas/chat.ts';
import { TOPICS } from '../../core/topics.ts';
import { dateTime64 } from '../../core/analytics/clickhouse-rows.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';

/**
 * `chat.messages` and `chat.verdicts` into ClickHouse (migration 0010): the message log behind
 * chat velocity and moderation rates, and the moderation audit log. One insert per bus batch with
 * its topic/partition/offsets as the deduplication token, so a redelivered batch is not written
 * twice; offsets commit only after the insert.
 */
export const MODERATION_SINK_GROUP = 'moderation.sink';

export function chatMessageRow(m: ChatMessage) {
  return {
    message_id: m.message_id,
    stream_id: m.stream_id,
    user_id: m.user_id,
    display_name: m.display_name,
    client_message_id: m.client_message_id ?? '',
    text: m.text,
    sent_at: dateTime64(m.sent_at),
    heuristic_decision: m.heuristic_decision,
    flag_categories: m.flags.map((f) => f.category),
    flag_scores: m.flags.map((f) => f.score ?? 0),
  };
}

export function moderationEventRow(v: ChatVerdict) {
  return {
    verdict_id: v.verdict_id,
    stream_id: v.stream_id,
    decided_at: dateTime64(v.decided_at),
    source: v.source,
    action: v.action,
    actor_id: v.actor_id ?? '',
    message_id: v.message_id ?? '',
    target_user_id: v.target_user_id ?? '',
    reason: v.reason,
    flag_categories: v.flags.map((f) => f.category),
    flag_scores: v.flags.map((f) => f.score ?? 0),
    duration_ms: v.duration_ms ?? 0,
    details: v.details ?? '',
  };
}

/** Rows of the valid records, dead letters for the rest. */
function decode<T, R>(
  batch: MessageBatch,
  check: (value: unknown) => value is T,
  errorsOf: (value: unknown) => DeadLetter['errors'],
  toRow: (record: T) => R,
) {
  const rows: R[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const message of batch.messages) {
    const value = parseJsonPayload(message.value);
    if (check(value)) rows.push(toRow(value));
    else {
      deadLetters.push({
        sourceTopic: batch.topic,
        payload: message.value,
        reason: `not a valid ${batch.topic} record`,
        errors: errorsOf(value),
        origin: `${batch.topic}/${batch.partition}/${message.offset}`,
      });
    }
  }
  return { rows, deadLetters };
}

/** The batch handler of the sink's subscription to both topics. */
export function createModerationSink(bus: Bus, analytics: AnalyticsStore) {
  return async (batch: MessageBatch): Promise<void> => {
    const dedupToken = batchDedupToken(batch);
    let deadLetters: DeadLetter[];
    if (batch.topic === TOPICS.chatMessages) {
      const decoded = decode(batch, chatMessageValidator.check, (v) => chatMessageValidator.errors(v), chatMessageRow);
      await insertRows(analytics, { table: 'chat_messages', rows: decoded.rows, dedupToken });
      deadLetters = decoded.deadLetters;
    } else {
      const decoded = decode(
        batch,
        chatVerdictValidator.check,
        (v) => chatVerdictValidator.errors(v),
        moderationEventRow,
      );
      await insertRows(analytics, { table: 'chat_moderation_events', rows: decoded.rows, dedupToken });
      deadLetters = decoded.deadLetters;
    }
    if (deadLetters.length > 0) await publishDeadLetters(bus, deadLetters);
  };
}
