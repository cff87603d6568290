import type { Logger } from 'pino';
import type { Bus, OutgoingMessage } from '../../core/bus/bus.ts';
import type { EnrichedPlayerEvent } from '../../core/schemas/player-event.ts';
import { playerEventMessage } from '../../core/schemas/player-event-message.ts';
import { TOPICS } from '../../core/topics.ts';
import type { EventSource, IngestMetrics, IngestRoute } from '../ingest-metrics.ts';
import type { EventIdLedger } from './event-id-ledger.ts';

export interface PublishPorts {
  bus: Bus;
  ledger: EventIdLedger;
  metrics: IngestMetrics;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** Longest a request waits for the bus; see PublishDeadlineError. */
  publishDeadlineMs: number;
}

/**
 * The bus took longer than the request may wait (an unreachable broker can take kafkajs tens of
 * seconds to give up on). The request is answered 503 while the publish carries on: if it ends
 * stored, its claims are confirmed and the retry is a duplicate; if it fails, they are released
 * and the retry is stored. Until then a retry is told the events are still in flight.
 */
export class PublishDeadlineError extends Error {
  constructor(readonly deadlineMs: number) {
    super(`the bus did not acknowledge within ${deadlineMs} ms`);
    this.name = 'PublishDeadlineError';
  }
}

export interface PublishOutcome {
  /** Stored on the bus by this call. */
  published: number;
  /** Already stored by an earlier request. */
  duplicates: number;
  /** Being stored by an earlier request that has not finished: the client must retry to be sure. */
  inFlight: number;
}

export interface DeduplicatedBatch {
  topic: string;
  /** Dedupe key per message, e.g. `property:event_id`. */
  ids: string[];
  messages: OutgoingMessage[];
  source: EventSource;
  route: IngestRoute;
}

/**
 * Dedupes by id, publishes what is new and resolves only once the bus acknowledged it durably.
 * If the publish fails, the claims are released before the error propagates, so the 503's
 * retry is accepted rather than dropped as a duplicate.
 */
export async function publishDeduplicated(batch: DeduplicatedBatch, ports: PublishPorts): Promise<PublishOutcome> {
  const { topic, ids, messages, source, route } = batch;
  if (messages.length === 0) return { published: 0, duplicates: 0, inFlight: 0 };
  const { bus, ledger, metrics, logger } = ports;
  const claim = await ledger.claim(ids);
  if (claim.degraded) {
    metrics.dedupeDegraded.inc({ route });
    logger.warn({ err: claim.error, route }, 'live state unavailable: publishing without dedupe');
  }

  const fresh: OutgoingMessage[] = [];
  let duplicates = 0;
  let inFlight = 0;
  claim.outcomes.forEach((outcome, i) => {
    if (outcome === 'claimed' || outcome === 'abandoned') fresh.push(messages[i]!);
    else if (outcome === 'in_flight') inFlight++;
    else duplicates++;
  });

  if (fresh.length > 0) {
    const started = performance.now();
    // Claims end confirmed or released once the bus settles, whether or not the request is still waiting.
    const publishing = bus.publish(topic, fresh).then(
      async () => {
        metrics.publishDuration.observe({ topic }, (performance.now() - started) / 1000);
        // The messages are durable now; a failed confirmation only makes a later retry wait or republish.
        await ledger
          .confirm(claim)
          .catch((error: unknown) => logger.warn({ err: error }, 'could not confirm dedupe claims'));
        metrics.accepted.inc({ source }, fresh.length);
      },
      async (error: unknown) => {
        metrics.publishDuration.observe({ topic }, (performance.now() - started) / 1000);
        await ledger.release(claim, ids).catch((releaseError: unknown) =>
          // Rare (bus and live state failing together): until the window ends a retry may be taken for a duplicate.
          logger.error(
            { err: releaseError, messages: fresh.length },
            'could not release dedupe claims after a failed publish',
          ),
        );
        throw error;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>(
      (resolve) => (timer = setTimeout(() => resolve('late'), ports.publishDeadlineMs)),
    );
    try {
      if ((await Promise.race([publishing, deadline])) === 'late') {
        publishing.catch((error: unknown) =>
          logger.warn({ err: error, route }, 'publish failed after its request was answered 503'),
        );
        throw new PublishDeadlineError(ports.publishDeadlineMs);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  if (duplicates > 0) metrics.deduplicated.inc({ source }, duplicates);
  return { published: fresh.length, duplicates, inFlight };
}

/**
 * Player events onto `player.events`, keyed by view_id, deduplicated by property and event_id; each
 * message says the event was validated here, so its readers need not check it in full again.
 */
export function publishPlayerEvents(
  events: EnrichedPlayerEvent[],
  route: 'events' | 'cmcd',
  ports: PublishPorts,
): Promise<PublishOutcome> {
  return publishDeduplicated(
    {
      topic: TOPICS.playerEvents,
      ids: events.map((e) => `${e.property_id}:${e.event_id}`),
      messages: events.map(playerEventMessage),
      source: route === 'cmcd' ? 'cmcd' : 'sdk',
      route,
    },
    ports,
  );
}
