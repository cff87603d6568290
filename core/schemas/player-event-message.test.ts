import { describe, expect, it } from 'vitest';
import { samplePlayerEvent } from '../../ingest-api/events/sample-player-events.ts';
import {
  PLAYER_EVENT_SCHEMA_HEADER,
  playerEventMessage,
  readPlayerEventMessage,
  VALIDATED_PLAYER_EVENT_SCHEMA,
} from './player-event-message.ts';
import type { EnrichedPlayerEvent } from './player-event.ts';

const at = 1_800_000_000_000;
const event: EnrichedPlayerEvent = {
  ...samplePlayerEvent({}, at),
  property_id: 'shop',
  event_time: at,
  received_at: at + 5,
  source: 'sdk',
};
const VALIDATED = { [PLAYER_EVENT_SCHEMA_HEADER]: VALIDATED_PLAYER_EVENT_SCHEMA };
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const withField = (path: string[], value: unknown): unknown => {
  const copy = structuredClone(event) as unknown as Record<string, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  if (value === undefined) delete target[path[path.length - 1]!];
  else target[path[path.length - 1]!] = value;
  return copy;
};

describe('player.events messages', () => {
  it('are what the collector publishes: the event’s JSON keyed by view, stamped with the schema it was checked against', () => {
    const message = playerEventMessage(event);
    expect(message.key).toBe(event.view_id);
    expect(JSON.parse(message.value.toString('utf8'))).toEqual(event);
    expect(message.headers).toEqual(VALIDATED);
    expect(readPlayerEventMessage({ value: message.value, headers: message.headers! })).toEqual({ event });
  });

  // What a stamped message is still checked for: everything the processor and the raw table rely on.
  it.each<[string, Buffer, string, string | undefined]>([
    ['not JSON', Buffer.from('{"event":'), 'not JSON', undefined],
    ['JSON null', json(null), 'does not match EnrichedPlayerEvent', '/'],
    ['an array', json([event]), 'does not match EnrichedPlayerEvent', '/'],
    ['no counters', json(withField(['counters'], undefined)), 'does not match EnrichedPlayerEvent', '/counters'],
    [
      'a counter as text',
      json(withField(['counters', 'watch_ms'], '12500')),
      'does not match EnrichedPlayerEvent',
      '/counters/watch_ms',
    ],
    [
      'a negative counter',
      json(withField(['counters', 'rebuffer_ms'], -1)),
      'does not match EnrichedPlayerEvent',
      '/counters/rebuffer_ms',
    ],
    [
      'a fractional sequence number',
      json(withField(['view_seq'], 1.5)),
      'does not match EnrichedPlayerEvent',
      '/view_seq',
    ],
    [
      'an event time in seconds',
      json(withField(['event_time'], at / 1000)),
      'does not match EnrichedPlayerEvent',
      '/event_time',
    ],
    [
      'an unknown player state',
      json(withField(['player_state'], 'dancing')),
      'does not match EnrichedPlayerEvent',
      '/player_state',
    ],
    ['a number for the stream', json(withField(['stream_id'], 7)), 'does not match EnrichedPlayerEvent', '/stream_id'],
    [
      'dimensions that are not an object',
      json(withField(['dimensions'], 'desktop')),
      'does not match EnrichedPlayerEvent',
      '/dimensions',
    ],
    [
      'an error without its code',
      json(withField(['error'], { severity: 'fatal' })),
      'does not match EnrichedPlayerEvent',
      '/error/code',
    ],
    [
      'a lone surrogate in the stream id',
      Buffer.from(JSON.stringify(event).replace('"stream-1"', '"stream-\\ud800"')),
      'does not match EnrichedPlayerEvent',
      '/stream_id',
    ],
  ])('stamped but %s: refused, with the full check’s errors', (_what, value, problem, path) => {
    const reading = readPlayerEventMessage({ value, headers: VALIDATED });
    expect(reading.event).toBeUndefined();
    expect(reading.problem).toMatch(problem);
    if (path !== undefined) expect(reading.errors?.map((e) => e.path)).toContain(path);
  });

  it.each<[string, unknown]>([
    ['an event id that is not a UUID', withField(['event_id'], 'not-a-uuid')],
    ['an unknown field', withField(['note'], 'extra')],
    ['an id with characters ids may not have', withField(['view_id'], 'view 1')],
  ])('stamped, with %s: taken on the collector’s word (only the full check refuses it)', (_what, value) => {
    expect(readPlayerEventMessage({ value: json(value), headers: VALIDATED }).event).toEqual(value);
    expect(readPlayerEventMessage({ value: json(value), headers: {} })).toMatchObject({
      problem: 'does not match EnrichedPlayerEvent',
    });
    expect(
      readPlayerEventMessage({
        value: json(value),
        headers: { [PLAYER_EVENT_SCHEMA_HEADER]: 'EnrichedPlayerEvent/0' },
      }),
    ).toMatchObject({ problem: 'does not match EnrichedPlayerEvent' });
  });

  it('checks in full what is not stamped, or carries an escape, and takes it when it is valid', () => {
    expect(readPlayerEventMessage({ value: json(event), headers: {} })).toEqual({ event });
    const quoted = { ...event, dimensions: { cdn: 'edge "one"' } };
    expect(readPlayerEventMessage({ value: json(quoted), headers: VALIDATED })).toEqual({ event: quoted });
    const extraQuoted = { ...quoted, note: 'extra' };
    expect(readPlayerEventMessage({ value: json(extraQuoted), headers: VALIDATED })).toMatchObject({
      problem: 'does not match EnrichedPlayerEvent',
    });
  });
});
