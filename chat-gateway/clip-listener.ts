import type { Logger } from 'pino';
import type { Bus, Subscription } from '../core/bus/bus.ts';
import { clipEventValidator, type ClipEvent } from '../core/schemas/highlight.ts';
import { TOPICS } from '../core/topics.ts';
import type { ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { ClipStaffEvent } from '../core/chat/protocol.ts';
import { parseJsonPayload } from '../core/schemas/validate.ts';

export const CLIP_LISTENER_GROUP = 'chat-gateway.clips';

export function clipStaffEvent(c: ClipEvent): ClipStaffEvent {
  return {
    clipId: c.clip_id,
    highlightId: c.highlight_id,
    streamId: c.stream_id,
    status: c.status,
    start: c.start,
    end: c.end,
    ...(c.outputs && { outputs: c.outputs }),
    ...(c.duration_ms !== undefined && { durationMs: c.duration_ms }),
    ...(c.reason !== undefined && { reason: c.reason }),
    finishedAt: c.finished_at,
  };
}

/**
 * Tells each stream's staff room (hosts, moderators, admins) what became of its clips: `clip`
 * events for created, updated and failed. One group for all gateway nodes, starting at the
 * topic's end; invalid records are skipped here (the clip sink keeps the record of clips).
 */
export async function startClipListener(deps: {
  bus: Bus;
  fanout: ChatFanout;
  metrics: ChatMetrics;
  logger: Logger;
}): Promise<Subscription> {
  const { bus, fanout, metrics, logger } = deps;
  return bus.subscribe({
    groupId: CLIP_LISTENER_GROUP,
    topics: [TOPICS.clips],
    startFrom: 'latest',
    handleBatch: (batch) => {
      for (const message of batch.messages) {
        const value = parseJsonPayload(message.value);
        if (!clipEventValidator.check(value)) {
          logger.warn(
            { origin: `${batch.topic}/${batch.partition}/${message.offset}` },
            'invalid record on clips skipped',
          );
          continue;
        }
        fanout.clip(value.stream_id, clipStaffEvent(value));
        metrics.staffEvents.inc({ event: 'clip' });
      }
      return Promise.resolve();
    },
  });
}
