import { setTimeout as sleep } from 'node:timers/promises';
import type { PlayerEvent, PlayerEventType } from '../../core/schemas/player-event.ts';
import { SeededRandom } from './seeded-random.ts';
import type { ScriptedView, SimulationPlan } from './viewer-scripts.ts';

/**
 * Plays a simulation against the collector in real time, as many players would: each view queues
 * its events as their time comes and flushes a batch every `flushIntervalMs` (at once for
 * viewstart, error and viewend, as Mux's SDK does), with `metadata.sent_at` on the device's clock
 * and retries with backoff on 429, 503 and network errors, so every event is delivered.
 *
 * Chaos, for the correctness tests: events shuffled within a batch, batches held back (so a
 * view's batches arrive out of order), and batches sent twice (the collector drops the repeat by
 * event_id). Held-back batches stay well within the processor's allowed lateness.
 */
export interface PlayOptions {
  collectorUrl: string;
  writeKey: string;
  flushIntervalMs?: number;
  maxInFlight?: number;
  chaos?: { seed?: number; shuffle?: boolean; duplicateShare?: number; holdBackShare?: number; maxHoldBackMs?: number };
  /** Gives up (rejecting) when a batch cannot be delivered for this long. */
  deliveryTimeoutMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface PlayReport {
  requests: number;
  retries: number;
  eventsSent: number;
  accepted: number;
  duplicates: number;
  rejected: Array<{ viewId: string; index: number; errors: unknown }>;
  startedAt: number;
  finishedAt: number;
}

export class CollectorDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CollectorDeliveryError';
  }
}

const FLUSH_AT_ONCE: ReadonlySet<PlayerEventType> = new Set(['viewstart', 'error', 'viewend']);
const TICK_MS = 100;

interface PlayingView {
  view: ScriptedView;
  next: number;
  outbox: PlayerEvent[];
  lastFlushAt: number;
}

interface CollectorAnswer {
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; errors: unknown }>;
}

export async function playSimulation(plan: SimulationPlan, options: PlayOptions): Promise<PlayReport> {
  const flushIntervalMs = options.flushIntervalMs ?? 10_000;
  const maxInFlight = options.maxInFlight ?? 64;
  const chaos = options.chaos ?? {};
  const random = new SeededRandom(chaos.seed ?? 7);
  const url = new URL('/v1/events', options.collectorUrl).toString();
  const report: PlayReport = {
    requests: 0,
    retries: 0,
    eventsSent: 0,
    accepted: 0,
    duplicates: 0,
    rejected: [],
    startedAt: Date.now(),
    finishedAt: 0,
  };
  const views: PlayingView[] = plan.views.map((view) => ({ view, next: 0, outbox: [], lastFlushAt: 0 }));
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  // A function, so the compiler reads `failure` as the deliveries may have set it, not as narrowed.
  const throwIfDeliveryFailed = () => {
    if (failure) throw failure;
  };

  const post = async (view: ScriptedView, events: PlayerEvent[]): Promise<void> => {
    const deadline = Date.now() + (options.deliveryTimeoutMs ?? 120_000);
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new CollectorDeliveryError('aborted');
      let status = 0;
      let answer: CollectorAnswer | undefined;
      let refusal = '';
      let networkError: unknown;
      try {
        report.requests += 1;
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.writeKey}` },
          // sent_at is stamped as late as possible: the collector corrects event times by (arrival − sent_at).
          body: JSON.stringify({
            metadata: { sdk: 'livepulse-simulator/1', sent_at: Date.now() + view.clockSkewMs },
            events,
          }),
          signal: options.signal,
        });
        status = response.status;
        if (status === 202 || status === 200) answer = (await response.json()) as CollectorAnswer;
        else refusal = await response.text();
      } catch (error) {
        networkError = error;
      }
      if (answer) {
        report.accepted += answer.accepted;
        report.duplicates += answer.duplicates;
        for (const r of answer.rejected)
          report.rejected.push({ viewId: view.viewId, index: r.index, errors: r.errors });
        return;
      }
      const retryable = networkError !== undefined || status === 429 || status === 503 || status >= 500;
      if (!retryable || Date.now() > deadline) {
        // The collector's own words (e.g. which bus error), so a failed run says why.
        const said = refusal ? `: ${refusal.slice(0, 500)}` : '';
        throw new CollectorDeliveryError(
          `the collector answered ${status || String(networkError)}${said} for a batch of view ${view.viewId}, attempt ${attempt + 1}`,
          { cause: networkError },
        );
      }
      report.retries += 1;
      await sleep(Math.min(5_000, 100 * 2 ** attempt) * (0.5 + random.next()));
    }
  };

  const send = (playing: PlayingView, now: number) => {
    const events = playing.outbox;
    playing.outbox = [];
    playing.lastFlushAt = now;
    if (chaos.shuffle) shuffleInPlace(events, random);
    report.eventsSent += events.length;
    const holdBack =
      chaos.holdBackShare && random.chance(chaos.holdBackShare) ? random.int(0, chaos.maxHoldBackMs ?? 3_000) : 0;
    const twice = chaos.duplicateShare !== undefined && random.chance(chaos.duplicateShare);
    const delivery = (async () => {
      if (holdBack > 0) await sleep(holdBack);
      await post(playing.view, events);
      if (twice) await post(playing.view, events);
    })().catch((error: unknown) => {
      failure ??= error instanceof Error ? error : new CollectorDeliveryError(String(error), { cause: error });
    });
    const tracked = delivery.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  while (true) {
    throwIfDeliveryFailed();
    if (options.signal?.aborted) throw new CollectorDeliveryError('aborted');
    const now = Date.now();
    let remaining = 0;
    for (const playing of views) {
      const events = playing.view.events;
      let urgent = false;
      while (playing.next < events.length && events[playing.next]!.at <= now) {
        const { event } = events[playing.next]!;
        playing.outbox.push(event);
        if (FLUSH_AT_ONCE.has(event.event as PlayerEventType)) urgent = true;
        playing.next += 1;
      }
      const finished = playing.next >= events.length;
      if (playing.outbox.length > 0 && (urgent || finished || now - playing.lastFlushAt >= flushIntervalMs)) {
        while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
        send(playing, now);
      }
      if (!finished || playing.outbox.length > 0) remaining += 1;
    }
    if (remaining === 0) break;
    await sleep(TICK_MS);
  }
  await Promise.all(inFlight);
  throwIfDeliveryFailed();
  report.finishedAt = Date.now();
  options.log?.(
    `sent ${report.eventsSent} events in ${report.requests} requests (${report.retries} retries): ${report.accepted} accepted, ${report.duplicates} duplicates, ${report.rejected.length} rejected`,
  );
  return report;
}

function shuffleInPlace<T>(items: T[], random: SeededRandom): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
