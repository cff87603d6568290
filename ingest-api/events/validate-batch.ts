import { playerEventValidator, type PlayerEvent } from '../../core/schemas/player-event.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import { nestsDeeperThan } from '../http/strict-json.ts';
import { clockOffsetMs, correctEventTime, type ClockReference } from './clock-skew.ts';

/**
 * Per-event validation of a batch that already passed the envelope check: every event is
 * checked against the shared PlayerEvent schema and placed in time on its own, so one bad
 * event never costs the good ones of the same batch.
 */
export interface ValidEvent {
  index: number;
  event: PlayerEvent;
  /** viewer_time corrected for the device's clock offset. */
  eventTime: number;
}

export interface RejectedEvent {
  index: number;
  /** schema: not a PlayerEvent; clock: outside the accepted time range; nesting: hostile depth. */
  reason: 'schema' | 'clock' | 'nesting';
  errors: FieldError[];
  /** The event as sent, for the dead-letter topic; absent when it cannot be kept (too deeply nested). */
  original?: unknown;
}

export interface BatchVerdict {
  valid: ValidEvent[];
  rejected: RejectedEvent[];
}

/** A valid event nests three levels; anything far deeper is hostile and not worth keeping. */
const MAX_KEPT_NESTING = 32;
const MAX_ERRORS_PER_EVENT = 5;

export function validateBatchEvents(events: readonly unknown[], clock: ClockReference): BatchVerdict {
  const offsetMs = clockOffsetMs(clock);
  const valid: ValidEvent[] = [];
  const rejected: RejectedEvent[] = [];
  events.forEach((candidate, index) => {
    if (!playerEventValidator.check(candidate)) {
      const tooDeep = nestsDeeperThan(candidate, MAX_KEPT_NESTING);
      const errors = tooDeep
        ? [{ path: '/', message: `nests deeper than ${MAX_KEPT_NESTING} levels` }]
        : playerEventValidator.errors(candidate, MAX_ERRORS_PER_EVENT);
      rejected.push(
        tooDeep ? { index, reason: 'nesting', errors } : { index, reason: 'schema', errors, original: candidate },
      );
      return;
    }
    const time = correctEventTime(candidate.viewer_time, clock, offsetMs);
    if (!time.ok) {
      rejected.push({ index, reason: 'clock', errors: [time.error], original: candidate });
      return;
    }
    valid.push({ index, event: candidate, eventTime: time.eventTime });
  });
  return { valid, rejected };
}
