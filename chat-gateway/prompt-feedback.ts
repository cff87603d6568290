import type { AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { insertRows } from '../core/analytics-store/insert.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import { dateTime64 } from '../core/analytics/clickhouse-rows.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import { canModerate, type ChatIdentity, type ChatRole } from '../core/chat/chat-token.ts';
import { deliveredPromptKey } from './host-prompt-listener.ts';
import { ModerationActionError } from './moderator-actions.ts';
import type { PromptFeedbackRequest } from '../core/chat/protocol.ts';

/**
 * `prompt:feedback`: a host or moderator marks a prompt of their stream used or dismissed. The
 * row goes straight into ClickHouse (`host_prompt_feedback`, migration 0040) for the content
 * team's boards: it is one small insert per click, and its deduplication token (prompt, user,
 * action) makes a retried or repeated click one row.
 */
export class PromptFeedback {
  constructor(
    private readonly deps: {
      analytics: AnalyticsStore;
      liveState: LiveState;
      metrics: ChatMetrics;
      now?: () => number;
    },
  ) {}

  async record(
    identity: ChatIdentity,
    role: ChatRole | null,
    streamId: string,
    request: PromptFeedbackRequest,
  ): Promise<{ promptId: string; action: PromptFeedbackRequest['action'] }> {
    const { analytics, liveState, metrics, now = Date.now } = this.deps;
    if (!canModerate(role))
      throw new ModerationActionError('forbidden', "prompts are for the stream's hosts and moderators");
    const promptStream = await liveState.get(deliveredPromptKey(request.promptId));
    if (promptStream !== streamId)
      throw new ModerationActionError(
        'not_found',
        `prompt ${request.promptId} was not delivered to stream ${streamId} (or is too old)`,
      );
    await insertRows(analytics, {
      table: 'host_prompt_feedback',
      rows: [
        {
          prompt_id: request.promptId,
          stream_id: streamId,
          user_id: identity.userId,
          role: role!,
          action: request.action,
          decided_at: dateTime64(now()),
        },
      ],
      dedupToken: `prompt-feedback-${request.promptId}-${identity.userId}-${request.action}`,
    });
    metrics.promptFeedback.inc({ action: request.action });
    return { promptId: request.promptId, action: request.action };
  }
}
