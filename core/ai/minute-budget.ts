import type { LiveState } from '../live-state/live-state.ts';

/**
 * A per-minute budget of messages sent to the AI, shared by every processor instance through live
 * state (a counter per calendar minute). A batch gets what is left of this minute's budget; the
 * rest is decided by the heuristics alone.
 */
export class MinuteBudget {
  constructor(
    private readonly liveState: LiveState,
    private readonly perMinute: number,
    private readonly key = 'moderation:ai-budget',
  ) {}

  /** How many of `wanted` messages may be classified now (0 to `wanted`). */
  async take(wanted: number, now = Date.now()): Promise<number> {
    if (wanted <= 0) return 0;
    const minute = Math.floor(now / 60_000);
    const used = await this.liveState.increment(`${this.key}:${minute}`, wanted, 120_000);
    const before = used - wanted;
    return Math.max(0, Math.min(wanted, this.perMinute - before));
  }
}
