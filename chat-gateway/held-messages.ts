import type { Logger } from 'pino';
import type { Bus } from '../core/bus/bus.ts';
import type { Config } from '../core/config.ts';
import type { ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { ChatStore, HeldMessage } from '../core/chat/chat-store/chat-store.ts';
import type { HeldResolvedEvent } from '../core/chat/protocol.ts';
import { publishVerdict } from '../core/moderation/verdict-records.ts';

export type HeldResolution =
  | { source: 'moderator'; actorId: string; reason?: string }
  | { source: 'ai'; reason: string }
  | { source: 'timeout' };

/**
 * Messages held for review, AutoMod-style: moderators see them, the sender is told "held", and
 * they are released to the room or denied by the first of a moderator, the AI verdict, or the
 * hold timeout. The store's take-once makes that first one the only one, on any node. The timeout
 * is a timer on the node that accepted the message; if that node dies, its sender's socket went
 * with it and the stored message expires shortly after its deadline, so nothing waits forever.
 */
export class HeldMessages {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly deps: {
      store: ChatStore;
      bus: Bus;
      fanout: ChatFanout;
      metrics: ChatMetrics;
      logger: Logger;
      chat: Pick<Config['chat'], 'hold' | 'historySize'>;
    },
  ) {}

  /** Stores the message for review, starts its timeout and shows it to the stream's moderators. */
  async hold(streamId: string, held: HeldMessage): Promise<void> {
    await this.deps.store.putHeld(streamId, held);
    const timer = setTimeout(
      () => {
        this.timers.delete(held.message.id);
        this.resolve(streamId, held.message.id, this.deps.chat.hold.onTimeout, { source: 'timeout' }).catch(
          (error: unknown) =>
            this.deps.logger.error(
              { err: error, streamId, messageId: held.message.id },
              'hold timeout could not resolve the message',
            ),
        );
      },
      Math.max(0, held.expiresAt - Date.now()),
    );
    timer.unref();
    this.timers.set(held.message.id, timer);
    this.deps.fanout.held(streamId, {
      message: held.message,
      reasons: held.reasons,
      heldAt: held.heldAt,
      expiresAt: held.expiresAt,
    });
  }

  /**
   * Releases or denies a held message; null when it was already resolved (or expired). A
   * moderator's decision is audited before it takes effect and is undone if the audit fails; the
   * AI's verdict is already on the bus; a timeout is audited on a best-effort basis, because the
   * message must leave the queue either way.
   */
  async resolve(
    streamId: string,
    messageId: string,
    action: 'release' | 'deny',
    by: HeldResolution,
  ): Promise<HeldMessage | null> {
    const { store, bus, fanout, metrics, logger } = this.deps;
    const held = await store.takeHeld(streamId, messageId);
    if (!held) return null;
    clearTimeout(this.timers.get(messageId));
    this.timers.delete(messageId);

    const reason =
      by.source === 'timeout'
        ? 'not reviewed before the hold timed out'
        : (by.reason ?? (action === 'release' ? 'approved' : 'denied'));
    const audit = {
      streamId,
      action,
      messageId,
      targetUserId: held.message.userId,
      reason,
      flags: held.reasons.map((category) => ({ category })),
    } as const;
    if (by.source === 'moderator') {
      try {
        await publishVerdict(bus, { ...audit, source: 'moderator', actorId: by.actorId });
      } catch (error) {
        await store.putHeld(streamId, held);
        throw error;
      }
    } else if (by.source === 'timeout') {
      await publishVerdict(bus, { ...audit, source: 'heuristics' }).catch((error: unknown) => {
        metrics.publishFailures.inc({ topic: 'chat.verdicts' });
        logger.warn(
          { err: error, streamId, messageId },
          'could not audit a hold timeout; the message is resolved anyway',
        );
      });
    }

    if (action === 'release') {
      await store.appendHistory(streamId, held.message, this.deps.chat.historySize);
      fanout.message(held.message);
    }
    fanout.status(held.senderSocketId, {
      id: messageId,
      ...(held.clientMessageId !== undefined && { clientMessageId: held.clientMessageId }),
      status: action === 'release' ? 'delivered' : 'denied',
      ...(action === 'deny' && { reason }),
    });
    const resolvedBy: HeldResolvedEvent['by'] = by.source;
    fanout.heldResolved(streamId, { id: messageId, action, by: resolvedBy });
    metrics.heldResolved.inc({ action, by: resolvedBy });
    return held;
  }

  /** Stops the timers of this node; their messages expire in the store. */
  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
