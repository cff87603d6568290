import type { Logger } from 'pino';
import { BusBackpressureError, BusUnavailableError, type Bus } from '../core/bus/bus.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import type { Highlight } from '../core/schemas/highlight.ts';
import { DEFAULT_SECONDS_AFTER, DEFAULT_SECONDS_BEFORE, publishClipRequest } from '../core/clips/clip-requests.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import { canModerate, type ChatIdentity, type ChatRole } from '../core/chat/chat-token.ts';
import type { MessageAck } from '../core/chat/protocol.ts';

/**
 * Chat commands: a message that is a command is run, answered through the message's
 * acknowledgement, and never broadcast as chat. The one command is `!clip [title]`, a host's,
 * moderator's or admin's "clip that" (the same request as `POST /v1/streams/:id/clips`). A viewer
 * typing `!clip` is refused with `forbidden` rather than having it pass as chat: a command that
 * silently turns into a message would teach viewers that it did something.
 */
export interface ChatCommand {
  name: 'clip';
  title?: string;
}

const MAX_TITLE_LENGTH = 100;

/** `!clip` or `!clip <title>` (any case); null for anything else, `!clipboard` included. */
export function parseChatCommand(text: string): ChatCommand | null {
  const match = /^!clip(?:\s+([\s\S]*))?$/i.exec(text.trim());
  if (!match) return null;
  const title = match[1]?.trim().slice(0, MAX_TITLE_LENGTH);
  return { name: 'clip', ...(title && { title }) };
}

/** Clip requests one user may make per stream per minute from chat (the HTTP API has its own limit). */
export const CLIP_COMMANDS_PER_MINUTE = 6;

export class ChatCommands {
  constructor(
    private readonly deps: {
      bus: Bus;
      liveState: LiveState;
      /** The clip id the clip worker will give a highlight, so the host can follow it. */
      clipIdOf: (highlight: Highlight) => string;
      metrics: ChatMetrics;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  async run(identity: ChatIdentity, role: ChatRole, streamId: string, command: ChatCommand): Promise<MessageAck> {
    const { bus, liveState, clipIdOf, metrics, logger, now = Date.now } = this.deps;
    if (!canModerate(role))
      return { status: 'rejected', reason: 'forbidden', detail: "!clip is for the stream's hosts and moderators" };
    const rate = await liveState.consumeRate(
      `chat:clip:${streamId}:${identity.userId}`,
      CLIP_COMMANDS_PER_MINUTE,
      60_000,
    );
    if (!rate.allowed)
      return {
        status: 'rejected',
        reason: 'rate_limited',
        detail: `at most ${CLIP_COMMANDS_PER_MINUTE} clips a minute`,
        retryAfterMs: rate.retryAfterMs,
      };
    let highlight: Highlight;
    try {
      highlight = await publishClipRequest(bus, {
        streamId,
        requestedBy: identity.userId,
        at: now(),
        secondsBefore: DEFAULT_SECONDS_BEFORE,
        secondsAfter: DEFAULT_SECONDS_AFTER,
      });
    } catch (error) {
      if (!(error instanceof BusBackpressureError || error instanceof BusUnavailableError)) throw error;
      metrics.publishFailures.inc({ topic: 'highlights' });
      logger.warn({ err: error, streamId }, 'could not publish a clip request from chat');
      return {
        status: 'rejected',
        reason: 'unavailable',
        detail: 'the clip request could not be stored; try again shortly',
      };
    }
    metrics.commands.inc({ command: command.name });
    return {
      status: 'command',
      command: 'clip',
      highlightId: highlight.highlight_id,
      clipId: clipIdOf(highlight),
      start: highlight.start,
      end: highlight.end,
      ...(command.title !== undefined && { title: command.title }),
    };
  }
}
