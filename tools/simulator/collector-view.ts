import type { EnrichedPlayerEvent } from '../../core/schemas/player-event.ts';
import type { SimulationPlan } from './viewer-scripts.ts';

/**
 * The plan's events as the collector would have put them on `player.events`: clock corrected back
 * to true time, stamped with a receive time and the property. For tests and benchmarks that feed
 * the bus directly; the correctness test goes through the real collector instead.
 */
export function collectedEvents(
  plan: SimulationPlan,
  { deliveryDelayMs = () => 0 }: { deliveryDelayMs?: (index: number) => number } = {},
): EnrichedPlayerEvent[] {
  const events: EnrichedPlayerEvent[] = [];
  for (const view of plan.views) {
    for (const { at, event } of view.events) {
      const receivedAt = at + deliveryDelayMs(events.length);
      events.push({ ...event, property_id: plan.propertyId, event_time: at, received_at: receivedAt, source: 'sdk' });
    }
  }
  // The log is in arrival order.
  return events.sort((a, b) => a.received_at - b.received_at);
}
