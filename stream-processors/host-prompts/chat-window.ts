import type { ChatMessage, ChatVerdict } from '../../core/schemas/chat.ts';
import type { WindowMessage } from './chat-clusters.ts';

/**
 * One stream's recent chat that passed moderation. "Passed" is known in two places: the gateway's
 * inline decision on `chat.messages` (allow is delivered, hold waits, block never shows), and
 * later verdicts on `chat.verdicts` (the AI or a moderator removes a delivered message, releases
 * or denies a held one, bans or times out a user, whose messages leave the chat). The two topics
 * are read independently, so a verdict may come first: removed ids are remembered for a window.
 */
export class ChatWindow {
  private readonly passed = new Map<string, WindowMessage>();
  private readonly held = new Map<string, WindowMessage>();
  /** Message id → when it was removed (kept one window, in case the message itself arrives later). */
  private readonly removed = new Map<string, number>();
  /** Messages a prompt was already built from: they do not make a second one. */
  private readonly suggested = new Set<string>();
  lastMessageAt = 0;

  observeMessage(message: ChatMessage): void {
    if (message.heuristic_decision === 'block' || this.removed.has(message.message_id)) return;
    const entry: WindowMessage = {
      messageId: message.message_id,
      userId: message.user_id,
      displayName: message.display_name,
      text: message.text,
      sentAt: message.sent_at,
    };
    if (message.heuristic_decision === 'hold') {
      this.held.set(entry.messageId, entry);
      return;
    }
    this.passed.set(entry.messageId, entry);
    this.lastMessageAt = Math.max(this.lastMessageAt, entry.sentAt);
  }

  observeVerdict(verdict: ChatVerdict): void {
    const id = verdict.message_id;
    switch (verdict.action) {
      case 'remove':
      case 'deny':
        if (id === undefined) return;
        this.passed.delete(id);
        this.held.delete(id);
        this.removed.set(id, verdict.decided_at);
        return;
      case 'release': {
        const message = id === undefined ? undefined : this.held.get(id);
        if (!message) return;
        this.held.delete(message.messageId);
        this.passed.set(message.messageId, message);
        this.lastMessageAt = Math.max(this.lastMessageAt, message.sentAt);
        return;
      }
      case 'ban':
      case 'timeout':
        if (verdict.target_user_id === undefined) return;
        for (const messages of [this.passed, this.held]) {
          for (const [messageId, message] of messages) {
            if (message.userId === verdict.target_user_id) {
              messages.delete(messageId);
              this.removed.set(messageId, verdict.decided_at);
            }
          }
        }
        return;
      default:
        return;
    }
  }

  /** Messages that passed moderation, sent in `[start, end]`, not yet behind a prompt. */
  unsuggestedIn(start: number, end: number): WindowMessage[] {
    return [...this.passed.values()].filter(
      (m) => m.sentAt >= start && m.sentAt <= end && !this.suggested.has(m.messageId),
    );
  }

  markSuggested(messageIds: Iterable<string>): void {
    for (const id of messageIds) this.suggested.add(id);
  }

  /** Forgets everything sent (or removed) before `cutoff`. */
  prune(cutoff: number): void {
    for (const messages of [this.passed, this.held]) {
      for (const [id, message] of messages) {
        if (message.sentAt < cutoff) {
          messages.delete(id);
          this.suggested.delete(id);
        }
      }
    }
    for (const [id, at] of this.removed) if (at < cutoff) this.removed.delete(id);
  }

  get isEmpty(): boolean {
    return this.passed.size === 0 && this.held.size === 0 && this.removed.size === 0;
  }
}
