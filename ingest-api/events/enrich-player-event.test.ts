import { describe, expect, it } from 'vitest';
import { enrichedPlayerEventValidator } from '../../core/schemas/player-event.ts';
import { enrichPlayerEvent, type RequestContext } from './enrich-player-event.ts';
import { samplePlayerEvent } from './sample-player-events.ts';

const receivedAt = 1_800_000_000_000;
const context: RequestContext = {
  propertyId: 'shop',
  receivedAt,
  source: 'sdk',
  client: { device: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
  clientIpHash: 'a'.repeat(32),
};

describe('enrichPlayerEvent', () => {
  it('adds the property, times, source, client dimensions and IP hash, and stays schema-valid', () => {
    const event = samplePlayerEvent({ viewer_time: receivedAt - 5_000 }, receivedAt);
    const enriched = enrichPlayerEvent(event, receivedAt - 4_000, context);
    expect(enriched).toMatchObject({
      event_id: event.event_id,
      property_id: 'shop',
      event_time: receivedAt - 4_000,
      received_at: receivedAt,
      source: 'sdk',
      client_ip_hash: 'a'.repeat(32),
      dimensions: { player_name: 'hls.js', device: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
    });
    expect(enrichedPlayerEventValidator.errors(enriched)).toEqual([]);
  });

  it.each([
    [
      'keeps dimensions the player sent over parsed ones',
      { dimensions: { device: 'smarttv', os: 'tvOS' } },
      { device: 'smarttv', os: 'tvOS', browser: 'Mobile Safari' },
    ],
    [
      'adds dimensions to an event that had none',
      { dimensions: undefined },
      { device: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
    ],
  ])('%s', (_what, overrides, expected) => {
    const enriched = enrichPlayerEvent(samplePlayerEvent(overrides, receivedAt), receivedAt, context);
    expect(enriched.dimensions).toEqual(expected);
  });

  it('adds only the client dimensions it knows, and leaves the event it was given untouched', () => {
    const event = samplePlayerEvent({ dimensions: { player_name: 'hls.js' } }, receivedAt);
    const sent = structuredClone(event);
    const enriched = enrichPlayerEvent(event, receivedAt, { ...context, client: { os: 'Linux' } });
    expect(Object.keys(enriched.dimensions!)).toEqual(['player_name', 'os']);
    expect(event).toEqual(sent);
  });

  it('adds nothing the request did not reveal', () => {
    const event = samplePlayerEvent({ dimensions: undefined }, receivedAt);
    const enriched = enrichPlayerEvent(event, receivedAt, { ...context, client: {}, clientIpHash: undefined });
    expect(enriched).not.toHaveProperty('dimensions');
    expect(enriched).not.toHaveProperty('client_ip_hash');
    expect(enrichedPlayerEventValidator.check(enriched)).toBe(true);
  });
});
