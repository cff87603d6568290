import { setTimeout as sleep } from 'node:timers/promises';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { mintChatToken, type ChatRole } from '../../core/chat/chat-token.ts';
import {
  CHAT_NAMESPACE,
  type ClipStaffEvent,
  type HeldMessageView,
  type HeldResolvedEvent,
  type MessageAck,
  type MessageRemovedEvent,
  type PromptEvent,
} from '../../core/chat/protocol.ts';
import type { ChatLineKind, ChatScript, ScriptedChatLine } from './chat-scripts.ts';
import { SeededRandom } from './seeded-random.ts';
import { sleepUntil } from './sleep-until.ts';

/**
 * Plays chat scripts against the chat gateway over socket.io, as real viewers would: one socket
 * per chatter with a viewer token, plus two staff sockets that stay for the whole run:
 *
 * - a **moderator** who reads chat the way a person does (the script's labels stand for their
 *   judgement): removes delivered abuse the heuristics let through, times out a repeat offender,
 *   denies held spam and abuse and approves anything else held, each after a human delay;
 * - the **host**, who receives `prompt` and `clip` events (and sees removals), reported to `onEvent`.
 */
export interface ChatRoomOptions {
  url: string;
  streamId: string;
  /** The HS256 secret the gateway verifies chat tokens with. */
  jwtSecret: string;
  runId: string;
  seed?: number;
  /** How long the moderator takes to act, ms. */
  moderatorDelayMs?: readonly [number, number];
  tokenTtlSeconds?: number;
  onEvent?: (event: ChatRoomEvent) => void;
}

export type ChatRoomEvent =
  | { kind: 'sent'; line: ScriptedChatLine; ack: MessageAck }
  | { kind: 'removed'; messageId: string; reason: string }
  | { kind: 'held_resolved'; messageId: string; action: HeldResolvedEvent['action']; by: HeldResolvedEvent['by'] }
  | { kind: 'timeout'; userId: string; reason: string }
  | { kind: 'prompt'; prompt: PromptEvent }
  | { kind: 'clip'; clip: ClipStaffEvent };

export interface ChatKindCounts {
  sent: number;
  delivered: number;
  held: number;
  rejected: number;
}

export interface ChatReport {
  byKind: Record<ChatLineKind, ChatKindCounts>;
  /** Refusals by reason: blocked, duplicate, rate_limited, timed_out… (`no_answer` when the gateway never acknowledged). */
  rejections: Record<string, number>;
  /** Delivered messages a moderator removed from the room. */
  removed: number;
  /** Held messages denied (by the moderator, the AI or the hold timeout) and released. */
  denied: number;
  released: number;
  timeouts: number;
  /** `prompt` events the host received. */
  prompts: number;
  /** `clip` events with status created the host received. */
  clips: number;
}

export class ChatConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatConnectionError';
  }
}

const ACK_TIMEOUT_MS = 10_000;
const REPEAT_OFFENDER_TIMEOUT_SECONDS = 120;

function emptyCounts(): ChatKindCounts {
  return { sent: 0, delivered: 0, held: 0, rejected: 0 };
}

export class ChatRoom {
  readonly report: ChatReport = {
    byKind: {
      chat: emptyCounts(),
      question: emptyCounts(),
      spam: emptyCounts(),
      abuse: emptyCounts(),
      hype: emptyCounts(),
    },
    rejections: {},
    removed: 0,
    denied: 0,
    released: 0,
    timeouts: 0,
    prompts: 0,
    clips: 0,
  };
  /** Message id → the scripted line and its sender, for the moderator's judgement. */
  private readonly sentLines = new Map<string, { line: ScriptedChatLine; userId: string }>();
  private readonly offences = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly random: SeededRandom;

  private constructor(
    private readonly options: ChatRoomOptions,
    private readonly moderator: Socket,
    private readonly host: Socket,
  ) {
    this.random = new SeededRandom(options.seed ?? 1);
    this.watchAsHost();
    this.watchAsModerator();
  }

  /** Connects the moderator and the host and joins them to the stream. */
  static async open(options: ChatRoomOptions): Promise<ChatRoom> {
    const moderator = await joinedSocket(options, `moderator-${options.runId}`, 'Mod Maya', 'moderator');
    try {
      const host = await joinedSocket(options, `host-${options.runId}`, 'The Host', 'host');
      return new ChatRoom(options, moderator, host);
    } catch (error) {
      moderator.close();
      throw error;
    }
  }

  /**
   * Connects the script's chatters, sends each line at `startAt + atMs`, and disconnects them
   * once every line was answered. Aborting stops sending; what was sent is still counted.
   */
  async play(script: ChatScript, startAt: number, signal: AbortSignal): Promise<void> {
    const sockets: Socket[] = [];
    const sends: Array<Promise<void>> = [];
    try {
      const joins = await Promise.allSettled(
        script.chatters.map((chatter) => joinedSocket(this.options, chatter.userId, chatter.name, 'viewer')),
      );
      for (const join of joins) if (join.status === 'fulfilled') sockets.push(join.value);
      const failed = joins.find((join) => join.status === 'rejected');
      if (failed) throw failed.reason;
      if (signal.aborted) return;
      for (const line of script.lines) {
        if (!(await sleepUntil(startAt + line.atMs, signal))) break;
        sends.push(this.send(sockets[line.chatter]!, script.chatters[line.chatter]!.userId, line));
      }
      await Promise.all(sends);
    } finally {
      for (const socket of sockets) socket.close();
    }
  }

  /** Waits for the moderator's pending actions, then disconnects the staff. */
  async close(): Promise<void> {
    await Promise.all(this.pending);
    this.moderator.close();
    this.host.close();
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async send(socket: Socket, userId: string, line: ScriptedChatLine): Promise<void> {
    const counts = this.report.byKind[line.kind];
    counts.sent++;
    let ack: MessageAck;
    try {
      ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message', { text: line.text })) as MessageAck;
    } catch {
      ack = { status: 'rejected', reason: 'unavailable', detail: 'no acknowledgement from the gateway' };
    }
    if (ack.status === 'rejected') {
      counts.rejected++;
      this.report.rejections[ack.reason] = (this.report.rejections[ack.reason] ?? 0) + 1;
    } else if (ack.status === 'command') {
      // A chat command (`!clip`) is answered, not shown; scripted chatters send none, but a command is not a refusal.
      counts.delivered++;
    } else {
      if (ack.status === 'delivered') counts.delivered++;
      else counts.held++;
      this.sentLines.set(ack.id, { line, userId });
      if (ack.status === 'delivered' && line.kind === 'abuse') this.track(this.removeAbuse(ack.id, userId));
    }
    this.options.onEvent?.({ kind: 'sent', line, ack });
  }

  private humanDelay(): Promise<void> {
    const [min, max] = this.options.moderatorDelayMs ?? [1_500, 4_000];
    return sleep(this.random.int(min, max));
  }

  private async moderate(event: string, payload: Record<string, unknown>): Promise<void> {
    // A refusal (already resolved by the AI or the timeout, a closed socket) is not the moderator's problem to retry.
    await this.moderator
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(event, payload)
      .catch(() => undefined);
  }

  private async removeAbuse(messageId: string, userId: string): Promise<void> {
    await this.humanDelay();
    await this.moderate('mod:delete', { messageId, reason: 'harassment: a directed insult' });
    const offences = (this.offences.get(userId) ?? 0) + 1;
    this.offences.set(userId, offences);
    if (offences === 2) {
      await this.moderate('mod:timeout', {
        userId,
        durationSeconds: REPEAT_OFFENDER_TIMEOUT_SECONDS,
        reason: 'repeated harassment',
      });
    }
  }

  private watchAsModerator(): void {
    this.moderator.on('message:held', (held: HeldMessageView) => {
      this.track(
        (async () => {
          await this.humanDelay();
          const sent = this.sentLines.get(held.message.id);
          if (!sent) return;
          const unwanted = sent.line.kind === 'spam' || sent.line.kind === 'abuse';
          if (unwanted)
            await this.moderate('mod:deny', {
              messageId: held.message.id,
              reason: `${sent.line.kind}: ${held.reasons.join(', ')}`.slice(0, 500),
            });
          else await this.moderate('mod:approve', { messageId: held.message.id });
        })(),
      );
    });
  }

  private watchAsHost(): void {
    const emit = (event: ChatRoomEvent) => this.options.onEvent?.(event);
    this.host.on('message:removed', (event: MessageRemovedEvent) => {
      this.report.removed++;
      emit({ kind: 'removed', messageId: event.id, reason: event.reason });
    });
    this.host.on('message:held:resolved', (event: HeldResolvedEvent) => {
      if (event.action === 'deny') this.report.denied++;
      else this.report.released++;
      emit({ kind: 'held_resolved', messageId: event.id, action: event.action, by: event.by });
    });
    this.host.on('user:timeout', (event: { userId: string; kind: string; reason: string }) => {
      if (event.kind !== 'timeout') return;
      this.report.timeouts++;
      emit({ kind: 'timeout', userId: event.userId, reason: event.reason });
    });
    this.host.on('prompt', (prompt: PromptEvent) => {
      this.report.prompts++;
      emit({ kind: 'prompt', prompt });
    });
    this.host.on('clip', (clip: ClipStaffEvent) => {
      if (clip.status === 'created') this.report.clips++;
      emit({ kind: 'clip', clip });
    });
  }
}

async function joinedSocket(options: ChatRoomOptions, userId: string, name: string, role: ChatRole): Promise<Socket> {
  const token = await mintChatToken({
    secret: options.jwtSecret,
    sub: userId,
    name,
    roles: { [options.streamId]: role },
    ttlSeconds: options.tokenTtlSeconds ?? 12 * 3_600,
  });
  const socket = connectSocket(`${options.url}${CHAT_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error: Error) =>
        reject(new ChatConnectionError(`${userId} could not connect to chat: ${error.message}`, { cause: error })),
      );
    });
    const joined = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('join', { streamId: options.streamId })) as {
      ok: boolean;
      reason?: string;
      detail?: string;
    };
    if (!joined.ok)
      throw new ChatConnectionError(
        `${userId} could not join ${options.streamId}: ${joined.reason} ${joined.detail ?? ''}`.trim(),
      );
    return socket;
  } catch (error) {
    socket.close();
    throw error;
  }
}
