import type { Logger } from 'pino';
import type { Bus, MessageBatch } from '../../core/bus/bus.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { EncoderHateClassifier } from '../../core/moderation/classifier/encoder-classifier.ts';
import { CLASSIFIER_RULE } from '../../core/moderation/classifier/hate-classifier.ts';
import { verdictRecord } from '../../core/moderation/verdict-records.ts';
import {
  chatMessageValidator,
  type ChatMessage,
  type ChatVerdict,
  type ModerationDecision,
} from '../../core/schemas/chat.ts';
import { parseJsonPayload } from '../../core/schemas/validate.ts';
import { TOPICS } from '../../core/topics.ts';

/**
 * What the encoder layer does with a message, given the inline verdict and the rules it found:
 * - delivered, and the encoder flags it: removed from every screen;
 * - held by the n-gram model alone (its finding the only one), and the encoder does not flag it:
 *   released — the stacked score, which includes the n-gram model's, has the last local word;
 * - anything else stands: a held message the encoder also flags waits for the AI or a moderator,
 *   and the encoder never touches what the rules held or blocked.
 */
export function encoderAction(
  decision: ModerationDecision,
  rules: readonly string[],
  flagged: boolean,
): 'remove' | 'release' | null {
  if (decision === 'allow') return flagged ? 'remove' : null;
  if (decision === 'hold' && !flagged && rules.length > 0 && rules.every((rule) => rule === CLASSIFIER_RULE))
    return 'release';
  return null;
}

export interface EncoderModerationProcessorOptions {
  bus: Bus;
  classifier: EncoderHateClassifier;
  /** Texts per encoder run. */
  batchSize: number;
  /** Held messages older than this were already resolved by the hold timeout; delivered ones this old are left alone too. */
  holdTimeoutMs: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Consumes `chat.messages` and runs the encoder layer on every message the rules did not block,
 * in batches, publishing its verdicts to `chat.verdicts` (source `ai`, actor the encoder) for the
 * gateway to apply like the AI's. Needs no network and no AI key: it is on wherever the moderation
 * service runs. A failure to publish fails the batch (it is redelivered; verdicts are idempotent
 * for the gateway).
 */
export class EncoderModerationProcessor {
  private readonly outcomes;
  private readonly latency;

  constructor(private readonly options: EncoderModerationProcessorOptions) {
    this.outcomes = options.metrics.counter(
      'encoder_moderation_messages_total',
      'Chat messages by what the encoder layer did with them',
      ['outcome'],
    );
    this.latency = options.metrics.histogram(
      'encoder_moderation_batch_seconds',
      'Encoder layer time per batch',
      [],
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    );
  }

  async handleBatch(batch: MessageBatch, now = Date.now()): Promise<ChatVerdict[]> {
    const messages = batch.messages.flatMap((m) => {
      const value = parseJsonPayload(m.value);
      // Invalid records are the AI stage's and the sink's to dead-letter; here they are skipped.
      return chatMessageValidator.check(value) ? [value] : [];
    });
    const candidates = messages.filter((m) => {
      if (m.heuristic_decision === 'block') return false;
      const fresh = now - m.sent_at <= this.options.holdTimeoutMs;
      if (!fresh) this.outcomes.inc({ outcome: 'skipped_stale' });
      return fresh;
    });
    const verdicts: ChatVerdict[] = [];
    for (let start = 0; start < candidates.length; start += this.options.batchSize) {
      const chunk = candidates.slice(start, start + this.options.batchSize);
      const started = performance.now();
      const scores = await this.options.classifier.score(chunk.map((m) => m.text));
      this.latency.observe((performance.now() - started) / 1_000);
      chunk.forEach((message, i) => verdicts.push(...this.verdict(message, scores[i]!)));
    }
    if (verdicts.length > 0) {
      await this.options.bus.publish(
        TOPICS.chatVerdicts,
        verdicts.map((v) => ({ key: v.stream_id, value: Buffer.from(JSON.stringify(v)) })),
      );
    }
    return verdicts;
  }

  private verdict(
    message: ChatMessage,
    score: Awaited<ReturnType<EncoderHateClassifier['score']>>[number],
  ): ChatVerdict[] {
    const flagged = score.finding !== null;
    this.outcomes.inc({ outcome: flagged ? 'flagged' : 'clean' });
    const action = encoderAction(
      message.heuristic_decision,
      message.flags.map((f) => f.category),
      flagged,
    );
    if (action === null) return [];
    const probability = 1 / (1 + Math.exp(-score.logit));
    return [
      verdictRecord({
        action,
        reason:
          action === 'remove'
            ? `classifier: hateful (p=${probability.toFixed(2)})`
            : `classifier: not hateful (p=${probability.toFixed(2)})`,
        flags: [{ category: 'identity.encoder', score: Math.round(probability * 1_000) / 1_000 }],
        streamId: message.stream_id,
        source: 'ai',
        messageId: message.message_id,
        targetUserId: message.user_id,
        actorId: this.options.classifier.model,
      }),
    ];
  }
}
