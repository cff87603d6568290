import type { Logger } from 'pino';
import type { Bus, DeliveredMessage, Subscription } from '../core/bus/bus.ts';
import { publishDeadLetters, type DeadLetter } from '../core/dead-letters.ts';
import { chatVerdictValidator, type ChatVerdict } from '../core/schemas/chat.ts';
import { TOPICS } from '../core/topics.ts';
import type { ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { ChatStore } from '../core/chat/chat-store/chat-store.ts';
import type { HeldMessages } from './held-messages.ts';

export const VERDICT_LISTENER_GROUP = 'chat-gateway.verdicts';

/**
 * Applies the AI's verdicts from `chat.verdicts`: removes a delivered message from every client,
 * or releases or denies a held one. The gateway nodes share one consumer group, so each verdict is
 * applied once and reaches every node's clients through the socket.io adapter. Moderator actions
 * on the same topic were applied by the node that took them and are only audit here. A group new
 * to the topic starts at its end: old verdicts concern messages long gone from the screen.
 */
export async function startVerdictListener(deps: {
  bus: Bus;
  store: ChatStore;
  held: HeldMessages;
  fanout: ChatFanout;
  metrics: ChatMetrics;
  logger: Logger;
}): Promise<Subscription> {
  const { bus, store, held, fanout, metrics, logger } = deps;

  const apply = async (verdict: ChatVerdict) => {
    if (verdict.source !== 'ai' || !verdict.message_id) return;
    switch (verdict.action) {
      case 'remove': {
        await store.removeFromHistory(verdict.stream_id, { messageId: verdict.message_id });
        fanout.removed(verdict.stream_id, { id: verdict.message_id, reason: verdict.reason });
        break;
      }
      case 'release':
      case 'deny':
        // Null when a moderator or the timeout got there first: nothing left to do.
        await held.resolve(verdict.stream_id, verdict.message_id, verdict.action, {
          source: 'ai',
          reason: verdict.reason,
        });
        break;
      default:
        return;
    }
    metrics.aiVerdicts.inc({ action: verdict.action });
  };

  const parse = (message: DeliveredMessage): ChatVerdict | DeadLetter => {
    const origin = `${message.topic}/${message.partition}/${message.offset}`;
    let value: unknown;
    try {
      value = JSON.parse(message.value.toString('utf8'));
    } catch {
      return { sourceTopic: message.topic, payload: message.value, reason: 'not valid JSON', origin };
    }
    if (chatVerdictValidator.check(value)) return value;
    return {
      sourceTopic: message.topic,
      payload: message.value,
      reason: 'not a valid ChatVerdict',
      errors: chatVerdictValidator.errors(value),
      origin,
    };
  };

  const subscription = await bus.subscribe({
    groupId: VERDICT_LISTENER_GROUP,
    topics: [TOPICS.chatVerdicts],
    startFrom: 'latest',
    maxBatchMessages: 500,
    handleBatch: async (batch) => {
      const invalid: DeadLetter[] = [];
      for (const message of batch.messages) {
        const parsed = parse(message);
        if ('verdict_id' in parsed) await apply(parsed);
        else invalid.push(parsed);
      }
      if (invalid.length > 0) {
        logger.warn(
          { count: invalid.length, topic: batch.topic },
          'invalid records on chat.verdicts sent to dead-letters',
        );
        await publishDeadLetters(bus, invalid);
      }
    },
  });
  return subscription;
}
