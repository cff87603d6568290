import type { OutgoingMessage } from '../bus/bus.ts';
import { EnrichedPlayerEvent, enrichedPlayerEventValidator } from './player-event.ts';
import { createStructureCheck, type FieldError } from './validate.ts';

/**
 * A `player.events` message, written by the collector and read by the viewer-analytics processor
 * and the raw-events sink: the JSON of one EnrichedPlayerEvent, keyed by view_id (the public
 * contract; anything may still publish plain JSON). The collector validated every event before
 * publishing it, and says so in a header naming the schema it checked against, so its readers
 * parse the JSON and skip the second full check (nearly as costly as the parse itself; see
 * docs/benchmarks.md). What they still check on such a message is what their code relies on —
 * the schema's structure (types, required fields, known values, numeric ranges) and well-formed
 * text, which ClickHouse needs — so a damaged message is dead-lettered, never applied. A message
 * without the header, or one failing that check, gets the full check and its field errors.
 */
export const PLAYER_EVENT_SCHEMA_HEADER = 'livepulse-schema';
/** The schema and version the collector validated against; a reader that knows another version checks in full. */
export const VALIDATED_PLAYER_EVENT_SCHEMA = 'EnrichedPlayerEvent/1';

const hasPlayerEventStructure = createStructureCheck(EnrichedPlayerEvent);
const BACKSLASH = 0x5c;

/** The message the collector publishes for an event it validated and enriched. */
export function playerEventMessage(event: EnrichedPlayerEvent): OutgoingMessage {
  return {
    key: event.view_id,
    value: Buffer.from(JSON.stringify(event)),
    headers: { [PLAYER_EVENT_SCHEMA_HEADER]: VALIDATED_PLAYER_EVENT_SCHEMA },
  };
}

export type PlayerEventReading =
  | { event: EnrichedPlayerEvent; problem?: undefined; errors?: undefined }
  | { event?: undefined; problem: string; errors?: FieldError[] };

export function readPlayerEventMessage(message: {
  value: Buffer;
  headers: Record<string, string>;
}): PlayerEventReading {
  let value: unknown;
  try {
    value = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  if (
    message.headers[PLAYER_EVENT_SCHEMA_HEADER] === VALIDATED_PLAYER_EVENT_SCHEMA &&
    hasNoEscapes(message.value) &&
    hasPlayerEventStructure(value)
  ) {
    return { event: value };
  }
  if (enrichedPlayerEventValidator.check(value)) return { event: value };
  return { problem: 'does not match EnrichedPlayerEvent', errors: enrichedPlayerEventValidator.errors(value) };
}

/**
 * Lone surrogates reach a JavaScript string only through JSON's `\u` escapes (UTF-8 cannot carry
 * them, and decoding replaces broken bytes), so JSON without a backslash is well-formed text; the
 * rare event with an escape (a quote in a dimension, say) gets the full check.
 */
function hasNoEscapes(json: Buffer): boolean {
  return json.indexOf(BACKSLASH) === -1;
}
