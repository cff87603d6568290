import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus, MessageBatch } from '../../core/bus/bus.ts';
import type { HostPromptSettings } from '../../core/config.ts';
import type { LiveState } from '../../core/live-state/live-state.ts';
import type { Metrics } from '../../core/metrics.ts';
import {
  chatMessageValidator,
  chatVerdictValidator,
  hostPromptValidator,
  type HostPrompt,
} from '../../core/schemas/chat.ts';
import { assertValid, parseJsonPayload } from '../../core/schemas/validate.ts';
import { TOPICS } from '../../core/topics.ts';
import { CircuitOpenError, type CircuitBreaker } from '../../core/ai/circuit-breaker.ts';
import type { ContentClassifier } from '../../core/ai/content-classifier.ts';
import { MinuteBudget } from '../../core/ai/minute-budget.ts';
import { clusterChat, DEFAULT_CLUSTER_SETTINGS, type ChatCluster, type ClusterSettings } from './chat-clusters.ts';
import { ChatWindow } from './chat-window.ts';
import { CostlySuggestionError, type PromptSuggester } from './prompt-suggester.ts';
import { planRun } from './prompt-schedule.ts';
import { SuggestionGuard } from './suggestion-guard.ts';
import {
  buildSuggestionRequest,
  DEFAULT_REQUEST_LIMITS,
  readSuggestions,
  SuggestionOutputError,
} from './suggestion-request.ts';
import { heuristicSuggestions, type Suggestion } from './suggestions.ts';

/** The AI side, when a backend is configured. */
export interface HostPromptAi {
  suggester: PromptSuggester;
  breaker: CircuitBreaker;
  /** Re-moderates suggestions with the configured content classifier. */
  classifier?: ContentClassifier;
}

export interface HostPromptProcessorOptions {
  settings: HostPromptSettings;
  ai: HostPromptAi | null;
  liveState: LiveState;
  bus: Bus;
  metrics: Metrics;
  logger: Logger;
  cluster?: ClusterSettings;
}

interface StreamState {
  window: ChatWindow;
  nextRunAt: number;
}

interface Produced {
  suggestions: Suggestion[];
  source: HostPrompt['source'];
}

/**
 * Host prompts from chat: keeps each stream's recent chat that passed moderation (from
 * `chat.messages` and `chat.verdicts`), and on each stream's cadence clusters its window, asks the
 * model for at most K suggestions (within the per-stream, global and token budgets, behind the
 * circuit breaker), re-moderates them and publishes them on `host.prompts`. Without a model, or
 * when it is over budget, failing or unusable, the heuristic clusters become the suggestions,
 * labelled `heuristic`.
 *
 * State is in memory and per process: chat is keyed by stream, so one member sees all of a
 * stream's chat, and a restart only costs the current window.
 */
export class HostPromptProcessor {
  private readonly streams = new Map<string, StreamState>();
  private readonly guard = new SuggestionGuard();
  private readonly globalCalls: MinuteBudget;
  private readonly globalTokens: MinuteBudget;
  private readonly runs;
  private readonly aiCalls;
  private readonly aiTokens;
  private readonly published;
  private readonly rejected;
  private readonly invalidRecords;

  constructor(private readonly options: HostPromptProcessorOptions) {
    const { metrics, liveState, settings } = options;
    this.globalCalls = new MinuteBudget(liveState, settings.ai.callsPerMinute, 'host-prompts:ai-calls');
    this.globalTokens = new MinuteBudget(liveState, settings.ai.tokensPerMinute, 'host-prompts:ai-tokens');
    this.runs = metrics.counter('host_prompt_windows_total', 'Closed chat windows by what became of them', ['outcome']);
    this.aiCalls = metrics.counter('host_prompt_ai_calls_total', 'Model calls for host prompts, and the ones skipped', [
      'outcome',
    ]);
    this.aiTokens = metrics.counter(
      'host_prompt_ai_tokens_total',
      'Tokens spent on host prompts, as the server reported them',
      ['kind'],
    );
    this.published = metrics.counter('host_prompts_published_total', 'Host prompts published, by source', ['source']);
    this.rejected = metrics.counter('host_prompt_suggestions_rejected_total', 'Suggestions dropped by re-moderation', [
      'reason',
    ]);
    this.invalidRecords = metrics.counter(
      'host_prompt_invalid_records_total',
      'Records on chat.messages or chat.verdicts that failed validation (the moderation sink dead-letters them)',
      ['topic'],
    );
  }

  /** Takes one batch of `chat.messages` or `chat.verdicts` into the windows. */
  observe(batch: MessageBatch, now = Date.now()): void {
    for (const message of batch.messages) {
      const value = parseJsonPayload(message.value);
      if (batch.topic === TOPICS.chatMessages && chatMessageValidator.check(value)) {
        this.stream(value.stream_id, now).window.observeMessage(value);
      } else if (batch.topic === TOPICS.chatVerdicts && chatVerdictValidator.check(value)) {
        this.streams.get(value.stream_id)?.window.observeVerdict(value);
      } else {
        this.invalidRecords.inc({ topic: batch.topic });
      }
    }
  }

  /** Closes the windows that are due, and publishes what they produced. */
  async tick(now = Date.now()): Promise<HostPrompt[]> {
    const { settings } = this.options;
    const due: Array<{ streamId: string; state: StreamState; windowStart: number; windowEnd: number }> = [];
    for (const [streamId, state] of this.streams) {
      state.window.prune(now - settings.windowMs);
      if (state.window.isEmpty && now - state.window.lastMessageAt > settings.windowMs) {
        this.streams.delete(streamId);
        continue;
      }
      const plan = planRun(
        state.nextRunAt,
        (start, end) => state.window.unsuggestedIn(start, end).length,
        now,
        settings,
      );
      state.nextRunAt = plan.nextRunAt;
      if (plan.run) due.push({ streamId, state, windowStart: plan.windowStart, windowEnd: plan.windowEnd });
      else if (plan.reason === 'quiet') this.runs.inc({ outcome: 'quiet' });
    }
    const prompts = (
      await Promise.all(due.map((d) => this.runWindow(d.streamId, d.state.window, d.windowStart, d.windowEnd, now)))
    ).flat();
    if (prompts.length > 0) {
      await this.options.bus.publish(
        TOPICS.hostPrompts,
        prompts.map((p) => ({ key: p.stream_id, value: Buffer.from(JSON.stringify(p)) })),
      );
      for (const p of prompts) {
        this.published.inc({ source: p.source });
        this.streams.get(p.stream_id)?.window.markSuggested(p.source_message_ids);
      }
    }
    return prompts;
  }

  private stream(streamId: string, now: number): StreamState {
    let state = this.streams.get(streamId);
    if (!state) {
      // The first window of a stream closes one interval after its chat starts.
      state = { window: new ChatWindow(), nextRunAt: now + this.options.settings.intervalMs };
      this.streams.set(streamId, state);
    }
    return state;
  }

  private async runWindow(
    streamId: string,
    window: ChatWindow,
    windowStart: number,
    windowEnd: number,
    now: number,
  ): Promise<HostPrompt[]> {
    const messages = window.unsuggestedIn(windowStart, windowEnd);
    const clusters = clusterChat(messages, this.options.cluster ?? DEFAULT_CLUSTER_SETTINGS);
    if (clusters.length === 0) {
      this.runs.inc({ outcome: 'nothing_to_suggest' });
      return [];
    }
    const senders = new Set(messages.map((m) => m.userId));
    const fromModel = this.options.ai ? await this.fromModel(streamId, clusters, senders, now) : null;
    const produced: Produced = fromModel ?? {
      suggestions: this.screened(
        heuristicSuggestions(clusters, this.options.settings.maxSuggestions, this.options.settings.windowMs),
        senders,
      ),
      source: 'heuristic',
    };
    if (produced.suggestions.length === 0) {
      this.runs.inc({ outcome: 'all_rejected' });
      return [];
    }
    this.runs.inc({ outcome: `published_${produced.source}` });
    // Every message of a cluster a prompt drew on is spent, not only the ones it cited.
    const clusterOf = new Map(clusters.flatMap((c) => c.messages.map((m) => [m.messageId, c] as const)));
    return produced.suggestions.map((s) => {
      const spent = new Set(
        s.sourceMessageIds.flatMap((id) => clusterOf.get(id)?.messages.map((m) => m.messageId) ?? [id]),
      );
      return assertValid(
        hostPromptValidator,
        {
          schema_v: 1,
          prompt_id: randomUUID(),
          stream_id: streamId,
          prompt: s.prompt,
          rationale: s.rationale,
          source_message_ids: [...spent].slice(0, 50),
          askers: s.askers,
          priority: s.priority,
          source: produced.source,
          ...(produced.source === 'ai' && this.options.ai && { model: this.options.ai.suggester.model.slice(0, 128) }),
          window_start: windowStart,
          window_end: windowEnd,
          created_at: now,
        },
        'HostPrompt',
      );
    });
  }

  /** The model's suggestions, re-moderated; null when the heuristics must stand in. */
  private async fromModel(
    streamId: string,
    clusters: ChatCluster[],
    senders: Set<string>,
    now: number,
  ): Promise<Produced | null> {
    const { ai, settings, logger } = this.options;
    const { suggester, breaker } = ai!;
    const request = buildSuggestionRequest(clusters, {
      model: suggester.model,
      windowMs: settings.windowMs,
      limits: {
        ...DEFAULT_REQUEST_LIMITS,
        maxSuggestions: settings.maxSuggestions,
        maxCompletionTokens: settings.ai.maxCompletionTokens,
      },
    });
    if (!(await this.withinBudget(streamId, request.estimatedTokens + settings.ai.maxCompletionTokens, now))) {
      this.aiCalls.inc({ outcome: 'skipped_budget' });
      return null;
    }
    let suggestions: Suggestion[];
    try {
      const completion = await breaker.run(() => suggester.complete(request));
      this.countTokens(completion.usage);
      suggestions = readSuggestions(completion.content, request);
    } catch (error) {
      if (error instanceof CostlySuggestionError) this.countTokens(error.usage);
      const outcome =
        error instanceof CircuitOpenError
          ? 'skipped_circuit_open'
          : error instanceof SuggestionOutputError
            ? 'invalid_output'
            : 'error';
      this.aiCalls.inc({ outcome });
      if (outcome !== 'skipped_circuit_open')
        logger.warn(
          { err: error, streamId, model: suggester.model },
          'host prompt model call failed; heuristic suggestions stand in',
        );
      return null;
    }
    this.aiCalls.inc({ outcome: 'ok' });
    const screened = await this.classified(this.screened(suggestions, senders));
    return screened.length > 0 ? { suggestions: screened, source: 'ai' } : null;
  }

  /** The per-stream call budget, then the global one, then the tokens (estimated, reserved up front). */
  private async withinBudget(streamId: string, tokens: number, now: number): Promise<boolean> {
    const { liveState, settings } = this.options;
    const perStream = new MinuteBudget(
      liveState,
      settings.ai.callsPerStreamPerMinute,
      `host-prompts:ai-calls:${streamId}`,
    );
    return (
      (await perStream.take(1, now)) === 1 &&
      (await this.globalCalls.take(1, now)) === 1 &&
      (await this.globalTokens.take(tokens, now)) === tokens
    );
  }

  private countTokens(usage: { promptTokens: number; completionTokens: number }): void {
    this.aiTokens.inc({ kind: 'prompt' }, usage.promptTokens);
    this.aiTokens.inc({ kind: 'completion' }, usage.completionTokens);
  }

  private screened(suggestions: Suggestion[], senders: Set<string>): Suggestion[] {
    return suggestions.filter((s) => {
      const rejection = this.guard.check(s, senders);
      if (rejection) this.rejected.inc({ reason: rejection });
      return rejection === null;
    });
  }

  /** The configured classifier's opinion of the model's words; when it cannot give one, none are shown. */
  private async classified(suggestions: Suggestion[]): Promise<Suggestion[]> {
    const classifier = this.options.ai?.classifier;
    if (!classifier || suggestions.length === 0) return suggestions;
    try {
      const results = await classifier.classify(suggestions.map((s) => `${s.prompt}\n${s.rationale}`));
      return suggestions.filter((_, i) => {
        if (results[i]?.flagged !== true) return true;
        this.rejected.inc({ reason: 'classifier' });
        return false;
      });
    } catch (error) {
      this.rejected.inc({ reason: 'classifier_unavailable' }, suggestions.length);
      this.options.logger.warn(
        { err: error, model: classifier.model },
        'could not re-moderate host prompts with the classifier; heuristic suggestions stand in',
      );
      return [];
    }
  }
}
