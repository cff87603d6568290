import type { EnrichedPlayerEvent, PlayerEvent } from '../../core/schemas/player-event.ts';
import type { ClientDimensions } from './client-context.ts';

/** What the collector adds to every event of one request. */
export interface RequestContext {
  propertyId: string;
  receivedAt: number;
  source: EnrichedPlayerEvent['source'];
  client: ClientDimensions;
  clientIpHash?: string;
}

/**
 * A player event as `player.events` carries it. Dimensions the player sent win over the ones
 * parsed from the User-Agent (a native app knows its device better than its HTTP stack says).
 */
export function enrichPlayerEvent(event: PlayerEvent, eventTime: number, context: RequestContext): EnrichedPlayerEvent {
  const enriched: EnrichedPlayerEvent = {
    ...event,
    property_id: context.propertyId,
    event_time: eventTime,
    received_at: context.receivedAt,
    source: context.source,
  };
  const { device, os, browser } = context.client;
  if (device || os || browser) {
    const sent = event.dimensions ?? {};
    enriched.dimensions = {
      ...sent,
      device: sent.device ?? device,
      os: sent.os ?? os,
      browser: sent.browser ?? browser,
    };
    for (const key of ['device', 'os', 'browser'] as const) if (enriched.dimensions[key] === undefined) delete enriched.dimensions[key];
  }
  if (context.clientIpHash) enriched.client_ip_hash = context.clientIpHash;
  return enriched;
}
