import { OpenAI } from 'openai';
import type { Subscription } from '../../core/bus/bus.ts';
import type { ServiceDefinition } from '../../core/platform.ts';
import { TOPICS } from '../../core/topics.ts';
import { AutoClassifier } from '../../core/ai/auto-classifier.ts';
import { CircuitBreaker } from '../../core/ai/circuit-breaker.ts';
import type { ContentClassifier } from '../../core/ai/content-classifier.ts';
import { GuardChatClassifier } from '../../core/ai/guard-chat-classifier.ts';
import { OpenAiModerationClassifier } from '../../core/ai/openai-moderation-classifier.ts';
import { HostPromptProcessor, type HostPromptAi } from './host-prompt-processor.ts';
import { createHostPromptSink, HOST_PROMPT_SINK_GROUP } from './host-prompt-sink.ts';
import { OpenAiPromptSuggester } from './prompt-suggester.ts';

export const HOST_PROMPT_GROUP = 'host-prompts';
/** How often due windows are looked for; a window closes at most this late. */
const TICK_MS = 1_000;
/** Consecutive failed model calls that open the circuit, and how long it stays open. */
const BREAKER = { failureThreshold: 3, cooldownMs: 60_000 };

/**
 * host-prompts: suggested questions and talking points for hosts, from chat that passed
 * moderation, onto `host.prompts` (the chat gateway delivers them to the stream's hosts and
 * moderators), and every prompt into ClickHouse. With an OpenAI-compatible backend the model
 * writes them; without one the heuristic clusters do.
 */
export const hostPromptsService: ServiceDefinition = {
  name: 'host-prompts',
  description: 'AI-suggested questions and talking points from chat, delivered live to the host',
  async start(context) {
    const { config, logger, metrics, bus, analytics, liveState } = context;
    let ai: HostPromptAi | null = null;
    if (config.ai.kind === 'openai') {
      const client = new OpenAI({
        apiKey: config.ai.apiKey,
        baseURL: config.ai.baseURL,
        timeout: config.hostPrompts.ai.timeoutMs,
        maxRetries: config.hostPrompts.ai.maxRetries,
      });
      const moderations = new OpenAiModerationClassifier(client, config.ai.moderationModel);
      const guard = new GuardChatClassifier(client, config.moderation.ai.guardModel, config.moderation.ai.concurrency);
      const backend = config.moderation.ai.backend;
      const classifier: ContentClassifier =
        backend === 'moderations'
          ? moderations
          : backend === 'chat'
            ? guard
            : new AutoClassifier(moderations, guard, logger);
      const breaker = new CircuitBreaker({
        ...BREAKER,
        onStateChange: (state) => logger.warn({ state }, 'host prompt model circuit changed state'),
      });
      ai = { suggester: new OpenAiPromptSuggester(client, config.ai.chatModel), breaker, classifier };
      logger.info({ model: config.ai.chatModel }, 'AI host prompts on');
    } else {
      logger.info('AI host prompts off (no OPENAI_API_KEY): heuristic suggestions only');
    }
    const processor = new HostPromptProcessor({ settings: config.hostPrompts, ai, liveState, bus, metrics, logger });

    // `observe` is synchronous, so a batch never sees a window half-updated by a tick; ticks do not
    // overlap, so one still waiting on the model is not stacked up behind.
    let ticking: Promise<unknown> | null = null;
    const timer = setInterval(() => {
      ticking ??= processor
        .tick()
        .catch((error: unknown) => logger.error({ err: error }, 'host prompt window failed'))
        .finally(() => (ticking = null));
    }, TICK_MS);

    const subscriptions: Subscription[] = [];
    try {
      subscriptions.push(
        await bus.subscribe({
          groupId: HOST_PROMPT_GROUP,
          topics: [TOPICS.chatMessages, TOPICS.chatVerdicts],
          // A group new to the topics starts at their end: yesterday's chat asks nothing of today's host.
          startFrom: 'latest',
          maxBatchMessages: 1_000,
          handleBatch: (batch) => {
            processor.observe(batch);
            return Promise.resolve();
          },
        }),
      );
      subscriptions.push(
        await bus.subscribe({
          groupId: HOST_PROMPT_SINK_GROUP,
          topics: [TOPICS.hostPrompts],
          handleBatch: createHostPromptSink(bus, analytics),
          dependencyCheck: () => analytics.ping(),
        }),
      );
    } catch (error) {
      clearInterval(timer);
      await Promise.allSettled(subscriptions.map((s) => s.stop()));
      throw error;
    }

    return {
      async stop() {
        clearInterval(timer);
        await Promise.allSettled(subscriptions.map((s) => s.stop()));
        await ticking;
      },
    };
  },
};
