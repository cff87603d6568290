import type { Bus, OutgoingMessage } from './bus/bus.ts';
import type { FieldError } from './schemas/validate.ts';
import { TOPICS } from './topics.ts';

/**
 * Anything that failed validation or processing after it passed the envelope check is kept on
 * `dead-letters`, unchanged, with why in headers (as Jitsu's rotor does), so it can be inspected
 * and replayed. Keyed by the source topic.
 */
export interface DeadLetter {
  sourceTopic: string;
  /** The original bytes, untouched. */
  payload: Buffer;
  reason: string;
  errors?: FieldError[];
  /** Where it came from, e.g. `player.events/3/1200` or `POST /v1/events`. */
  origin?: string;
}

export const DEAD_LETTER_HEADERS = {
  sourceTopic: 'x-source-topic',
  reason: 'x-reason',
  errors: 'x-errors',
  origin: 'x-origin',
  failedAt: 'x-failed-at',
} as const;

export function deadLetterMessage(letter: DeadLetter, now = Date.now()): OutgoingMessage {
  const headers: Record<string, string> = {
    [DEAD_LETTER_HEADERS.sourceTopic]: letter.sourceTopic,
    [DEAD_LETTER_HEADERS.reason]: letter.reason.slice(0, 1024),
    [DEAD_LETTER_HEADERS.failedAt]: String(now),
  };
  if (letter.errors?.length) headers[DEAD_LETTER_HEADERS.errors] = JSON.stringify(letter.errors.slice(0, 20)).slice(0, 4096);
  if (letter.origin) headers[DEAD_LETTER_HEADERS.origin] = letter.origin;
  return { key: letter.sourceTopic, value: letter.payload, headers };
}

export function publishDeadLetters(bus: Bus, letters: DeadLetter[]): Promise<void> {
  return bus.publish(
    TOPICS.deadLetters,
    letters.map((l) => deadLetterMessage(l)),
  );
}
