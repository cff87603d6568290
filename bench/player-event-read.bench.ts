/**
 * What reading one `player.events` message costs its consumers, per event: the full schema check
 * (unstamped messages) against the collector-stamped path (core/schemas/player-event-message.ts),
 * on the simulator's collector-shaped events. A micro-benchmark on one core; it prints its figures
 * and records nothing (`node --import tsx bench/player-event-read.bench.ts`).
 */
import { readPlayerEventMessage, playerEventMessage } from '../core/schemas/player-event-message.ts';
import { enrichedPlayerEventValidator } from '../core/schemas/player-event.ts';
import { collectedEvents } from '../tools/simulator/collector-view.ts';
import { planSimulation } from '../tools/simulator/viewer-scripts.ts';

const ROUNDS = 15;
const plan = planSimulation({
  viewers: 2_000,
  durationMs: 120_000,
  seed: 7,
  streams: 4,
  startAt: Date.now() - 600_000,
  maxRebufferMs: 20_000,
});
const stamped = collectedEvents(plan)
  .map(playerEventMessage)
  .map((m) => ({ value: m.value, headers: m.headers! }));
const unstamped = stamped.map((m) => ({ value: m.value, headers: {} }));
const parsed = stamped.map((m) => JSON.parse(m.value.toString('utf8')) as unknown);

let kept = 0;
const ways: Record<string, () => void> = {
  json_parse_only: () => {
    for (const m of stamped) if (JSON.parse(m.value.toString('utf8'))) kept++;
  },
  full_check_only: () => {
    for (const value of parsed) if (enrichedPlayerEventValidator.check(value)) kept++;
  },
  read_unstamped: () => {
    for (const m of unstamped) if (readPlayerEventMessage(m).event) kept++;
  },
  read_stamped: () => {
    for (const m of stamped) if (readPlayerEventMessage(m).event) kept++;
  },
};

// Interleaved rounds, the median of each: a busy machine slows all of them alike.
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(ways)) {
    const started = performance.now();
    run();
    samples[name]!.push(((performance.now() - started) * 1000) / stamped.length);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const perEvent = Object.fromEntries(
  Object.entries(samples).map(([name, values]) => [`${name}_us`, Number(median(values).toFixed(2))]),
);
if (kept !== ROUNDS * stamped.length * Object.keys(ways).length) throw new Error('a valid event was refused');
const bytes = stamped.reduce((sum, m) => sum + m.value.length, 0) / stamped.length;
console.log(JSON.stringify({ events: stamped.length, mean_bytes: Math.round(bytes), ...perEvent }));
