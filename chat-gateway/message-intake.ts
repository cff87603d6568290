import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus } from '../core/bus/bus.ts';
import type { Config } from '../core/config.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import {
  DUPLICATE_WINDOW_MS,
  isNearDuplicate,
  modeRejection,
  UNIQUE_CHAT_WINDOW_MS,
  uniqueChatFingerprint,
} from '../core/moderation/chat-modes.ts';
import { findingToFlag } from '../core/moderation/findings.ts';
import type { ChannelRules, ChatModerator, ModerationOutcome } from '../core/moderation/moderate-message.ts';
import { findLinks } from '../core/moderation/spam-signals.ts';
import { foldForMatching } from '../core/moderation/text-folding.ts';
import { ownValue } from '../core/own-value.ts';
import { chatMessageValidator, type ChatMessage } from '../core/schemas/chat.ts';
import { assertValid } from '../core/schemas/validate.ts';
import { TOPICS } from '../core/topics.ts';
import type { ChannelRulesCache } from './channel-rules-cache.ts';
import type { ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { ChatStore } from '../core/chat/chat-store/chat-store.ts';
import { canModerate, roleRank, type ChatIdentity, type ChatRole } from '../core/chat/chat-token.ts';
import type { HeldMessages } from './held-messages.ts';
import type { ChatMessageView, MessageAck, MessageRequest, RejectionReason } from '../core/chat/protocol.ts';

/** Live-state keys the intake shares across nodes. */
export const liveKeys = {
  flood: (streamId: string, userId: string) => `chat:flood:${streamId}:${userId}`,
  slowMode: (streamId: string, userId: string) => `chat:slow:${streamId}:${userId}`,
  uniqueChat: (streamId: string, fingerprint: string) => `chat:r9k:${streamId}:${fingerprint}`,
  linkPermit: (streamId: string, userId: string) => `chat:permit:${streamId}:${userId}`,
  /** The role a user last joined a stream with: what moderator actions check a target against. */
  lastRole: (streamId: string, userId: string) => `chat:role:${streamId}:${userId}`,
};

export interface ChatSenderContext {
  identity: ChatIdentity;
  role: ChatRole;
  socketId: string;
}

/** Each node remembers a few recent messages per user for the near-duplicate check. */
class RecentMessages {
  private readonly byUser = new Map<string, Array<{ folded: string; at: number }>>();
  constructor(private readonly maxUsers = 50_000) {}

  recent(key: string, now: number): string[] {
    return (this.byUser.get(key) ?? []).filter((m) => now - m.at < DUPLICATE_WINDOW_MS).map((m) => m.folded);
  }

  remember(key: string, folded: string, now: number): void {
    const list = (this.byUser.get(key) ?? []).filter((m) => now - m.at < DUPLICATE_WINDOW_MS).slice(-2);
    list.push({ folded, at: now });
    this.byUser.delete(key);
    if (this.byUser.size >= this.maxUsers) this.byUser.delete(this.byUser.keys().next().value!);
    this.byUser.set(key, list);
  }
}

const rejected = (reason: RejectionReason, extra: { detail?: string; retryAfterMs?: number } = {}): MessageAck => ({
  status: 'rejected',
  reason,
  ...extra,
});

/**
 * One chat message from acceptance to delivery: sanctions, flood limit, chat modes, inline
 * heuristics, then publish to `chat.messages` (the durable record, before anyone sees it) and
 * deliver, hold or refuse. Cheap local checks run before shared-state ones.
 */
export class MessageIntake {
  private readonly recent = new RecentMessages();

  constructor(
    private readonly deps: {
      chat: Config['chat'];
      store: ChatStore;
      liveState: LiveState;
      bus: Bus;
      rules: ChannelRulesCache;
      moderator: ChatModerator;
      held: HeldMessages;
      fanout: ChatFanout;
      metrics: ChatMetrics;
      logger: Logger;
    },
  ) {}

  async accept(sender: ChatSenderContext, streamId: string, request: MessageRequest): Promise<MessageAck> {
    const ack = await this.decide(sender, streamId, request);
    if (ack.status === 'rejected') this.deps.metrics.rejections.inc({ reason: ack.reason });
    return ack;
  }

  private async decide(
    { identity, role, socketId }: ChatSenderContext,
    streamId: string,
    request: MessageRequest,
  ): Promise<MessageAck> {
    const { chat, store, liveState, rules } = this.deps;
    const text = request.text.trim();
    if (text.length === 0) return rejected('empty');
    const length = [...text].length;
    if (length > chat.maxMessageLength)
      return rejected('too_long', { detail: `${length} characters; the limit is ${chat.maxMessageLength}` });

    const now = Date.now();
    const privileged = canModerate(role);
    // The stream's host and admins cannot be silenced on it; a sanctioned moderator can.
    if (roleRank(role) < roleRank('host')) {
      const sanction = await store.getSanction(streamId, identity.userId, now);
      if (sanction?.kind === 'ban') return rejected('banned', { detail: sanction.reason });
      if (sanction) return rejected('timed_out', { detail: sanction.reason, retryAfterMs: sanction.until! - now });
    }

    const floodLimit = privileged ? chat.flood.privilegedMessages : chat.flood.messages;
    const flood = await liveState.consumeRate(
      liveKeys.flood(streamId, identity.userId),
      floodLimit,
      chat.flood.windowMs,
    );
    if (!flood.allowed) return rejected('rate_limited', { retryAfterMs: flood.retryAfterMs });

    const { settings, rules: channelRules } = await rules.get(streamId, now);
    const sender = {
      privileged,
      subscriber: identity.subscriptions.has(streamId),
      followedAt: ownValue(identity.follows, streamId),
    };
    const modeProblem = modeRejection(settings.modes, sender, text, channelRules.channelEmotes, now);
    if (modeProblem) return rejected(modeProblem);

    if (!privileged && settings.modes.slow_mode_seconds > 0) {
      const slow = await liveState.consumeRate(
        liveKeys.slowMode(streamId, identity.userId),
        1,
        settings.modes.slow_mode_seconds * 1_000,
      );
      if (!slow.allowed) return rejected('slow_mode', { retryAfterMs: slow.retryAfterMs });
    }

    const outcome = privileged ? this.exempt(text) : await this.moderate(channelRules, streamId, identity.userId, text);
    const recentKey = `${streamId}\u0000${identity.userId}`;
    if (!privileged && isNearDuplicate(outcome.folded, this.recent.recent(recentKey, now)))
      return rejected('duplicate');
    if (!privileged && settings.modes.unique_chat && outcome.decision !== 'block') {
      const fresh = await liveState.setIfAbsent(
        liveKeys.uniqueChat(streamId, uniqueChatFingerprint(outcome.folded)),
        '1',
        UNIQUE_CHAT_WINDOW_MS,
      );
      if (!fresh) return rejected('not_unique');
    }

    const view: ChatMessageView = {
      id: randomUUID(),
      streamId,
      userId: identity.userId,
      name: identity.name,
      text,
      sentAt: now,
      ...(role !== 'viewer' && { role }),
    };
    const record = this.record(view, request.clientMessageId, outcome);
    this.deps.metrics.messages.inc({ decision: outcome.decision });

    if (outcome.decision === 'block') {
      // The record feeds analytics and the audit; refusing the sender does not depend on it.
      await this.publish(streamId, record).catch((error: unknown) => this.logPublishFailure(error, streamId));
      const top = outcome.deciding[0];
      return rejected('blocked', { detail: top ? top.rule : 'blocked by the channel settings' });
    }

    try {
      await this.publish(streamId, record);
    } catch (error) {
      this.logPublishFailure(error, streamId);
      return rejected('unavailable', { detail: 'chat is temporarily unavailable; try again' });
    }
    this.recent.remember(recentKey, outcome.folded, now);

    if (outcome.decision === 'hold') {
      const reasons = outcome.deciding.map((f) => f.rule);
      const expiresAt = now + this.deps.chat.hold.timeoutMs;
      await this.deps.held.hold(streamId, {
        message: view,
        ...(request.clientMessageId !== undefined && { clientMessageId: request.clientMessageId }),
        senderSocketId: socketId,
        reasons,
        heldAt: now,
        expiresAt,
      });
      return { status: 'held', id: view.id, reason: 'held_for_review', expiresAt };
    }

    await store.appendHistory(streamId, view, this.deps.chat.historySize);
    this.deps.fanout.message(view);
    return { status: 'delivered', id: view.id };
  }

  private async moderate(
    channel: ChannelRules,
    streamId: string,
    userId: string,
    text: string,
  ): Promise<ModerationOutcome> {
    // The permit lookup is a shared-state read; only messages with a link need it.
    const linkPermitted =
      findLinks(text).length > 0 && (await this.deps.liveState.get(liveKeys.linkPermit(streamId, userId))) !== null;
    const started = performance.now();
    const outcome = this.deps.moderator.moderate(text, channel, { linkPermitted });
    this.deps.metrics.heuristicsSeconds.observe((performance.now() - started) / 1_000);
    return outcome;
  }

  /** Moderators, hosts and admins are not filtered (as on Twitch). */
  private exempt(text: string): ModerationOutcome {
    return { decision: 'allow', findings: [], deciding: [], folded: foldForMatching(text) };
  }

  private record(view: ChatMessageView, clientMessageId: string | undefined, outcome: ModerationOutcome): ChatMessage {
    return assertValid(
      chatMessageValidator,
      {
        schema_v: 1,
        message_id: view.id,
        ...(clientMessageId !== undefined && { client_message_id: clientMessageId }),
        stream_id: view.streamId,
        user_id: view.userId,
        display_name: view.name,
        text: view.text,
        sent_at: view.sentAt,
        heuristic_decision: outcome.decision,
        flags: outcome.findings.slice(0, 32).map(findingToFlag),
      },
      'ChatMessage',
    );
  }

  private publish(streamId: string, record: ChatMessage): Promise<void> {
    return this.deps.bus.publish(TOPICS.chatMessages, [{ key: streamId, value: Buffer.from(JSON.stringify(record)) }]);
  }

  private logPublishFailure(error: unknown, streamId: string): void {
    this.deps.metrics.publishFailures.inc({ topic: TOPICS.chatMessages });
    this.deps.logger.warn({ err: error, streamId }, 'could not publish a chat message to the bus');
  }
}
