import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Bus } from '../bus/bus.ts';
import { chatVerdictValidator, type ChatVerdict, type ModerationFlag } from '../schemas/chat.ts';
import { assertValid } from '../schemas/validate.ts';
import { TOPICS } from '../topics.ts';

/**
 * Verdicts and moderator actions go to `chat.verdicts`, keyed by stream: the audit trail (who,
 * what, when, why) the moderation sink writes to ClickHouse, and the channel the AI's verdicts
 * come back to the gateway on.
 */
export interface VerdictInput {
  streamId: string;
  action: ChatVerdict['action'];
  source: ChatVerdict['source'];
  reason: string;
  actorId?: string;
  messageId?: string;
  targetUserId?: string;
  flags?: Static<typeof ModerationFlag>[];
  durationMs?: number;
  details?: unknown;
}

export function verdictRecord(input: VerdictInput, decidedAt = Date.now()): ChatVerdict {
  const record: ChatVerdict = {
    schema_v: 1,
    verdict_id: randomUUID(),
    stream_id: input.streamId,
    source: input.source,
    action: input.action,
    reason: input.reason.slice(0, 512),
    flags: (input.flags ?? []).slice(0, 32),
    decided_at: decidedAt,
    ...(input.actorId !== undefined && { actor_id: input.actorId }),
    ...(input.messageId !== undefined && { message_id: input.messageId }),
    ...(input.targetUserId !== undefined && { target_user_id: input.targetUserId }),
    ...(input.durationMs !== undefined && { duration_ms: input.durationMs }),
    ...(input.details !== undefined && { details: JSON.stringify(input.details).slice(0, 4096) }),
  };
  return assertValid(chatVerdictValidator, record, 'ChatVerdict');
}

/** Resolves once the verdict is durably on the bus. */
export async function publishVerdict(bus: Bus, input: VerdictInput): Promise<ChatVerdict> {
  const record = verdictRecord(input);
  await bus.publish(TOPICS.chatVerdicts, [{ key: record.stream_id, value: Buffer.from(JSON.stringify(record)) }]);
  return record;
}
