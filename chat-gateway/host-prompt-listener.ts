import type { Logger } from 'pino';
import type { Bus, Subscription } from '../core/bus/bus.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import { hostPromptValidator, type HostPrompt } from '../core/schemas/chat.ts';
import { TOPICS } from '../core/topics.ts';
import type { ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { PromptEvent } from '../core/chat/protocol.ts';
import { parseJsonPayload } from '../core/schemas/validate.ts';

export const HOST_PROMPT_LISTENER_GROUP = 'chat-gateway.host-prompts';

/** How long a delivered prompt can be given feedback on. */
export const PROMPT_FEEDBACK_TTL_MS = 24 * 60 * 60_000;
export const deliveredPromptKey = (promptId: string) => `chat:prompt:${promptId}`;

export function promptEvent(p: HostPrompt): PromptEvent {
  return {
    id: p.prompt_id,
    streamId: p.stream_id,
    prompt: p.prompt,
    rationale: p.rationale,
    askers: p.askers,
    sourceMessageIds: p.source_message_ids,
    priority: p.priority,
    source: p.source,
    windowStart: p.window_start,
    windowEnd: p.window_end,
    createdAt: p.created_at,
  };
}

/**
 * Delivers `host.prompts` to each stream's staff room as `prompt` events (viewers never get one),
 * and remembers which stream each prompt belongs to so feedback on it can be checked. One consumer
 * group for every gateway node: each prompt is emitted once and reaches every node's sockets
 * through the adapter. A group new to the topic starts at its end: an old prompt is stale.
 * Invalid records are skipped here; the host-prompts sink dead-letters them.
 */
export async function startHostPromptListener(deps: {
  bus: Bus;
  liveState: LiveState;
  fanout: ChatFanout;
  metrics: ChatMetrics;
  logger: Logger;
}): Promise<Subscription> {
  const { bus, liveState, fanout, metrics, logger } = deps;
  return bus.subscribe({
    groupId: HOST_PROMPT_LISTENER_GROUP,
    topics: [TOPICS.hostPrompts],
    startFrom: 'latest',
    handleBatch: async (batch) => {
      const prompts: HostPrompt[] = [];
      for (const message of batch.messages) {
        const value = parseJsonPayload(message.value);
        if (hostPromptValidator.check(value)) prompts.push(value);
        else
          logger.warn(
            { origin: `${batch.topic}/${batch.partition}/${message.offset}` },
            'invalid record on host.prompts skipped',
          );
      }
      if (prompts.length === 0) return;
      await Promise.all(
        prompts.map((p) => liveState.set(deliveredPromptKey(p.prompt_id), p.stream_id, PROMPT_FEEDBACK_TTL_MS)),
      );
      for (const prompt of prompts) {
        fanout.prompt(prompt.stream_id, promptEvent(prompt));
        metrics.staffEvents.inc({ event: 'prompt' });
      }
    },
  });
}
