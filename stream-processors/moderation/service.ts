import { OpenAI } from 'openai';
import type { Subscription } from '../../core/bus/bus.ts';
import type { ServiceDefinition } from '../../core/platform.ts';
import { TOPICS } from '../../core/topics.ts';
import { AiModerationProcessor } from './ai-moderation-processor.ts';
import { AutoClassifier } from '../../core/ai/auto-classifier.ts';
import { CircuitBreaker, type CircuitState } from '../../core/ai/circuit-breaker.ts';
import { EncoderModerationProcessor } from './encoder-moderation-processor.ts';
import type { ContentClassifier } from '../../core/ai/content-classifier.ts';
import { GuardChatClassifier } from '../../core/ai/guard-chat-classifier.ts';
import { MinuteBudget } from '../../core/ai/minute-budget.ts';
import { createModerationSink, MODERATION_SINK_GROUP } from './moderation-sink.ts';
import { OpenAiModerationClassifier } from '../../core/ai/openai-moderation-classifier.ts';

export const AI_MODERATION_GROUP = 'moderation.ai';
export const ENCODER_MODERATION_GROUP = 'moderation.encoder';
const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * moderation: the sentence-encoder layer of chat moderation (local, on unless MODERATION_ENCODER=false),
 * the AI stage (when an OpenAI-compatible endpoint is configured) and the sink of chat messages
 * and moderation verdicts into ClickHouse (always). With both off, the inline heuristics are the
 * whole decision and held messages resolve by moderator or timeout.
 */
export const moderationService: ServiceDefinition = {
  name: 'moderation',
  description:
    'Encoder and AI verdicts on chat (local sentence encoder; OpenAI moderation or a guard model) and the moderation audit log in ClickHouse',
  async start(context) {
    const { config, logger, metrics, bus, analytics, liveState } = context;
    const subscriptions: Subscription[] = [];
    const closers: Array<() => Promise<void>> = [];

    subscriptions.push(
      await bus.subscribe({
        groupId: MODERATION_SINK_GROUP,
        topics: [TOPICS.chatMessages, TOPICS.chatVerdicts],
        maxBatchMessages: 1_000,
        handleBatch: createModerationSink(bus, analytics),
        dependencyCheck: () => analytics.ping(),
      }),
    );

    if (config.moderation.encoder.enabled) {
      // Imported here: onnxruntime's native library is for the processes that run the encoder only.
      const { EncoderHateClassifier } = await import('../../core/moderation/classifier/encoder-classifier.ts');
      const classifier = await EncoderHateClassifier.load();
      const processor = new EncoderModerationProcessor({
        bus,
        classifier,
        batchSize: config.moderation.encoder.batchSize,
        holdTimeoutMs: config.chat.hold.timeoutMs,
        metrics,
        logger,
      });
      subscriptions.push(
        await bus.subscribe({
          groupId: ENCODER_MODERATION_GROUP,
          topics: [TOPICS.chatMessages],
          // Like the AI stage: a backlog of old chat is not worth removing from screens long moved on.
          startFrom: 'latest',
          maxBatchMessages: config.moderation.encoder.batchSize * 4,
          // One batch at a time: the encoder is CPU-bound, a second batch would only queue behind it.
          maxInFlightBatches: 1,
          handleBatch: async (batch) => {
            await processor.handleBatch(batch);
          },
        }),
      );
      closers.push(() => classifier.close());
      logger.info(
        { model: classifier.model, batchSize: config.moderation.encoder.batchSize },
        'encoder chat moderation on',
      );
    }

    if (config.ai.kind === 'openai') {
      const tuning = config.moderation.ai;
      const client = new OpenAI({
        apiKey: config.ai.apiKey,
        baseURL: config.ai.baseURL,
        timeout: tuning.timeoutMs,
        maxRetries: tuning.maxRetries,
      });
      const moderations = new OpenAiModerationClassifier(client, config.ai.moderationModel);
      const guard = new GuardChatClassifier(client, tuning.guardModel, tuning.concurrency);
      const classifier: ContentClassifier =
        tuning.backend === 'moderations'
          ? moderations
          : tuning.backend === 'chat'
            ? guard
            : new AutoClassifier(moderations, guard, logger);
      const circuit = metrics.gauge(
        'ai_moderation_circuit_state',
        'AI moderation circuit: 0 closed, 1 half-open, 2 open',
      );
      const breaker = new CircuitBreaker({
        ...tuning.breaker,
        onStateChange: (state) => {
          circuit.set(CIRCUIT_STATE_VALUE[state]);
          logger.warn({ state }, 'AI moderation circuit changed state');
        },
      });
      const processor = new AiModerationProcessor({
        bus,
        classifier,
        breaker,
        budget: new MinuteBudget(liveState, tuning.budgetPerMinute),
        batchSize: tuning.batchSize,
        holdTimeoutMs: config.chat.hold.timeoutMs,
        metrics,
        logger,
      });
      subscriptions.push(
        await bus.subscribe({
          groupId: AI_MODERATION_GROUP,
          topics: [TOPICS.chatMessages],
          // A group new to the topic starts at its end: a backlog of old chat is not worth a model call.
          startFrom: 'latest',
          maxBatchMessages: tuning.batchSize * 4,
          maxInFlightBatches: 2,
          handleBatch: async (batch) => {
            await processor.handleBatch(batch);
          },
        }),
      );
      logger.info(
        { backend: tuning.backend, moderationModel: config.ai.moderationModel, guardModel: tuning.guardModel },
        'AI chat moderation on',
      );
    } else {
      logger.info('AI chat moderation off (no OPENAI_API_KEY): the inline heuristics decide alone');
    }

    return {
      async stop() {
        await Promise.all(subscriptions.map((s) => s.stop()));
        await Promise.all(closers.map((close) => close()));
      },
    };
  },
};
