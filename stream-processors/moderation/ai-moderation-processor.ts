import type { Logger } from 'pino';
import type { Bus, MessageBatch } from '../../core/bus/bus.ts';
import { publishDeadLetters, type DeadLetter } from '../../core/dead-letters.ts';
import type { Metrics } from '../../core/metrics.ts';
import { policyCategoryOfAi } from '../../core/moderation/ai-categories.ts';
import { aiCanClear } from '../../core/moderation/findings.ts';
import { verdictRecord, type VerdictInput } from '../../core/moderation/verdict-records.ts';
import { chatMessageValidator, type ChatMessage, type ChatVerdict } from '../../core/schemas/chat.ts';
import { TOPICS } from '../../core/topics.ts';
import { CircuitOpenError, type CircuitBreaker } from '../../core/ai/circuit-breaker.ts';
import type { Classification, ContentClassifier } from '../../core/ai/content-classifier.ts';
import type { MinuteBudget } from '../../core/ai/minute-budget.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';

/** A delivered message older than this is no longer worth a model call (or a removal). */
export const DELIVERED_STALE_AFTER_MS = 5 * 60_000;
const ACTOR_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * What the AI's classification means for a message, given what the heuristics did with it:
 * a delivered message it flags is removed from every screen; a held one it flags is denied; a
 * held one it clears is released, but only when everything that held it is something the model
 * judges (a link or a channel's blocked term waits for a moderator or the timeout).
 */
export function verdictFor(
  message: ChatMessage,
  result: Classification,
): Pick<VerdictInput, 'action' | 'reason' | 'flags'> | null {
  const flags = result.categories.map((c) => ({
    category: `ai.${c.name}`.slice(0, 64),
    score: Math.min(1, Math.max(0, c.score)),
  }));
  const named = result.categories.map((c) => c.name).join(', ');
  // Only categories the chat policy has (identity, aggression, sexual) remove or deny a message.
  const flagged = result.flagged && result.categories.some((c) => policyCategoryOfAi(c.name) !== null);
  if (message.heuristic_decision === 'hold') {
    if (flagged) return { action: 'deny', reason: `AI: ${named}`, flags };
    if (aiCanClear(message.flags.map((f) => f.category)))
      return { action: 'release', reason: 'AI found nothing harmful', flags };
    return null;
  }
  if (message.heuristic_decision === 'allow' && flagged) return { action: 'remove', reason: `AI: ${named}`, flags };
  return null;
}

export interface AiModerationProcessorOptions {
  bus: Bus;
  classifier: ContentClassifier;
  breaker: CircuitBreaker;
  budget: MinuteBudget;
  batchSize: number;
  /** Held messages older than this were already resolved by the hold timeout. */
  holdTimeoutMs: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Consumes `chat.messages` and sends the messages the heuristics let through or held to the AI
 * classifier, in batches, within the per-minute budget and behind the circuit breaker; verdicts
 * go to `chat.verdicts` for the gateway to apply. When the AI is slow, failing or over budget,
 * messages are skipped, never retried forever: the heuristics' decision stands and held messages
 * fall to the hold timeout. Only a failure to publish verdicts fails the batch (it is redelivered;
 * verdicts are idempotent for the gateway).
 */
export class AiModerationProcessor {
  private readonly outcomes;
  private readonly latency;

  constructor(private readonly options: AiModerationProcessorOptions) {
    this.outcomes = options.metrics.counter(
      'ai_moderation_messages_total',
      'Chat messages by what the AI stage did with them',
      ['outcome'],
    );
    this.latency = options.metrics.histogram(
      'ai_moderation_request_seconds',
      'AI classification request time',
      ['outcome'],
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    );
  }

  async handleBatch(batch: MessageBatch, now = Date.now()): Promise<ChatVerdict[]> {
    const { messages, deadLetters } = this.parse(batch);
    if (deadLetters.length > 0) await publishDeadLetters(this.options.bus, deadLetters);

    const candidates = messages
      .filter((m) => {
        if (m.heuristic_decision === 'block') return false;
        const fresh =
          now - m.sent_at <= (m.heuristic_decision === 'hold' ? this.options.holdTimeoutMs : DELIVERED_STALE_AFTER_MS);
        if (!fresh) this.outcomes.inc({ outcome: 'skipped_stale' });
        return fresh;
      })
      // Held messages have someone waiting on them: they go first when the budget is short.
      .sort((a, b) => Number(b.heuristic_decision === 'hold') - Number(a.heuristic_decision === 'hold'));
    const granted = await this.options.budget.take(candidates.length, now);
    if (granted < candidates.length) this.outcomes.inc({ outcome: 'skipped_budget' }, candidates.length - granted);

    const verdicts: ChatVerdict[] = [];
    const toClassify = candidates.slice(0, granted);
    for (let start = 0; start < toClassify.length; start += this.options.batchSize) {
      const chunk = toClassify.slice(start, start + this.options.batchSize);
      const results = await this.classify(chunk);
      if (!results) continue;
      chunk.forEach((message, i) => {
        const result = results[i]!;
        this.outcomes.inc({ outcome: result.flagged ? 'flagged' : 'clean' });
        const verdict = verdictFor(message, result);
        if (!verdict) return;
        verdicts.push(
          verdictRecord({
            ...verdict,
            streamId: message.stream_id,
            source: 'ai',
            messageId: message.message_id,
            targetUserId: message.user_id,
            ...(ACTOR_ID.test(this.options.classifier.model) && { actorId: this.options.classifier.model }),
          }),
        );
      });
    }
    if (verdicts.length > 0) {
      await this.options.bus.publish(
        TOPICS.chatVerdicts,
        verdicts.map((v) => ({ key: v.stream_id, value: Buffer.from(JSON.stringify(v)) })),
      );
    }
    return verdicts;
  }

  /** Null when the chunk could not be classified (circuit open, timeout after retries, bad answer). */
  private async classify(chunk: ChatMessage[]): Promise<Classification[] | null> {
    const started = performance.now();
    try {
      const results = await this.options.breaker.run(() => this.options.classifier.classify(chunk.map((m) => m.text)));
      this.latency.observe({ outcome: 'ok' }, (performance.now() - started) / 1_000);
      return results;
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        this.outcomes.inc({ outcome: 'skipped_circuit_open' }, chunk.length);
        return null;
      }
      this.latency.observe({ outcome: 'error' }, (performance.now() - started) / 1_000);
      this.outcomes.inc({ outcome: 'skipped_error' }, chunk.length);
      this.options.logger.warn(
        { err: error, messages: chunk.length, model: this.options.classifier.model },
        'AI moderation failed; the heuristics decide these messages',
      );
      return null;
    }
  }

  private parse(batch: MessageBatch): { messages: ChatMessage[]; deadLetters: DeadLetter[] } {
    const messages: ChatMessage[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const message of batch.messages) {
      const value = parseJsonPayload(message.value);
      if (chatMessageValidator.check(value)) messages.push(value);
      else {
        deadLetters.push({
          sourceTopic: TOPICS.chatMessages,
          payload: message.value,
          reason: 'chat message is invalid',
          errors: chatMessageValidator.errors(value),
          origin: `${batch.topic}/${batch.partition}/${message.offset}`,
        });
      }
    }
    return { messages, deadLetters };
  }
}
