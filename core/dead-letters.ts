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
  /** A message a consumer could not handle (core/bus/quarantine.ts): which one, and the message's place and key, for a replay. */
  quarantine?: {
    consumerGroup: string;
    partition: number;
    offset: string;
    key: string | null;
    attempts: number;
    headers: Record<string, string>;
  };
}

export const DEAD_LETTER_HEADERS = {
  sourceTopic: 'x-source-topic',
  reason: 'x-reason',
  errors: 'x-errors',
  origin: 'x-origin',
  failedAt: 'x-failed-at',
  consumerGroup: 'x-consumer-group',
  sourcePartition: 'x-source-partition',
  sourceOffset: 'x-source-offset',
  sourceKey: 'x-source-key',
  attempts: 'x-attempts',
  /** Prefix of the quarantined message's own headers, kept for a replay. */
  sourceHeaderPrefix: 'x-source-header-',
} as const;

export function deadLetterMessage(letter: DeadLetter, now = Date.now()): OutgoingMessage {
  const headers: Record<string, string> = {
    [DEAD_LETTER_HEADERS.sourceTopic]: letter.sourceTopic,
    [DEAD_LETTER_HEADERS.reason]: letter.reason.slice(0, 1024),
    [DEAD_LETTER_HEADERS.failedAt]: String(now),
  };
  if (letter.errors?.length)
    headers[DEAD_LETTER_HEADERS.errors] = JSON.stringify(letter.errors.slice(0, 20)).slice(0, 4096);
  if (letter.origin) headers[DEAD_LETTER_HEADERS.origin] = letter.origin;
  const quarantine = letter.quarantine;
  if (quarantine) {
    headers[DEAD_LETTER_HEADERS.consumerGroup] = quarantine.consumerGroup;
    headers[DEAD_LETTER_HEADERS.sourcePartition] = String(quarantine.partition);
    headers[DEAD_LETTER_HEADERS.sourceOffset] = quarantine.offset;
    headers[DEAD_LETTER_HEADERS.attempts] = String(quarantine.attempts);
    if (quarantine.key !== null) headers[DEAD_LETTER_HEADERS.sourceKey] = quarantine.key;
    for (const [name, value] of Object.entries(quarantine.headers))
      headers[`${DEAD_LETTER_HEADERS.sourceHeaderPrefix}${name}`] = value;
  }
  return { key: letter.sourceTopic, value: letter.payload, headers };
}

export function publishDeadLetters(bus: Bus, letters: DeadLetter[]): Promise<void> {
  return bus.publish(
    TOPICS.deadLetters,
    letters.map((l) => deadLetterMessage(l)),
  );
}
