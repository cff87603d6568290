import type { Bus } from '../bus/bus.ts';
import { highlightId, highlightValidator, MAX_HIGHLIGHT_MS, type Highlight } from '../schemas/highlight.ts';
import { TOPICS } from '../topics.ts';

/**
 * "Clip that": a host or moderator asks for a clip of what just happened. Like Twitch's Create
 * Clip (which captures up to 85 s before the call and 5 s after), the window reaches back from
 * the request; ours is at most 60 s. The chat gateway, which knows who holds which role, calls
 * `publishClipRequest` for a `!clip` command; others use `POST /v1/streams/:streamId/clips`.
 */
export interface ClipRequest {
  streamId: string;
  requestedBy: string;
  /** Server time of the request, epoch ms. */
  at: number;
  secondsBefore: number;
  secondsAfter: number;
}

export const DEFAULT_SECONDS_BEFORE = 25;
export const DEFAULT_SECONDS_AFTER = 5;

export class InvalidClipRequestError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidClipRequestError';
  }
}

/**
 * The highlight for a request. The window is aligned to whole seconds, so a host pressing the
 * button twice in a second asks for one clip, not two.
 */
export function requestedHighlight(request: ClipRequest): Highlight {
  const { streamId, requestedBy, secondsBefore, secondsAfter } = request;
  const durationMs = (secondsBefore + secondsAfter) * 1000;
  if (durationMs < 5_000 || durationMs > MAX_HIGHLIGHT_MS)
    throw new InvalidClipRequestError(
      `a clip is 5–60 s; ${secondsBefore} s before and ${secondsAfter} s after is ${durationMs / 1000} s`,
    );
  const at = Math.floor(request.at / 1000) * 1000;
  const start = at - secondsBefore * 1000;
  const end = at + secondsAfter * 1000;
  const highlight: Highlight = {
    schema_v: 1,
    highlight_id: highlightId(streamId, start, end),
    stream_id: streamId,
    start,
    end,
    score: 0,
    reasons: ['requested'],
    requested_by: requestedBy,
    detected_at: request.at,
  };
  if (!highlightValidator.check(highlight)) {
    throw new InvalidClipRequestError(
      highlightValidator
        .errors(highlight)
        .map((e) => `${e.path} ${e.message}`)
        .join('; '),
    );
  }
  return highlight;
}

export async function publishClipRequest(bus: Bus, request: ClipRequest): Promise<Highlight> {
  const highlight = requestedHighlight(request);
  await bus.publish(TOPICS.highlights, [{ key: highlight.stream_id, value: Buffer.from(JSON.stringify(highlight)) }]);
  return highlight;
}
