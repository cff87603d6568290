import { randomBytes } from 'node:crypto';
import type { LiveState } from '../../core/live-state/live-state.ts';

/**
 * Drops retried events by event_id for a short window, without ever dropping one that was not
 * stored. A request claims its event ids with a ticket before publishing, confirms the ticket
 * once the bus acknowledged, and releases the claims if the publish failed, so the client's
 * retry is not mistaken for a duplicate.
 *
 * A claim held by another request is only a duplicate once that request confirmed. While it is
 * still publishing (`in_flight`) the caller must not answer as if the event were stored; it
 * asks the client to retry instead. A claim whose ticket never got confirmed within
 * `abandonAfterMs` belongs to a request that died mid-way (`abandoned`): the caller publishes
 * the event itself, accepting a possible duplicate over a possible loss.
 */
export type ClaimOutcome = 'claimed' | 'published' | 'in_flight' | 'abandoned' | 'repeated_in_request';

export interface LedgerClaim {
  ticket: string;
  outcomes: ClaimOutcome[];
  /** The live state failed: nothing was claimed and every event counts as new (at-least-once). */
  degraded: boolean;
  /** Why the ledger is degraded, for the log. */
  error?: unknown;
}

export interface EventIdLedgerOptions {
  windowMs: number;
  abandonAfterMs?: number;
  now?: () => number;
}

const claimKey = (id: string) => `ingest:event:${id}`;
const ticketKey = (ticket: string) => `ingest:ticket:${ticket}`;

export class EventIdLedger {
  private readonly abandonAfterMs: number;
  private readonly now: () => number;

  constructor(
    private readonly liveState: LiveState,
    private readonly options: EventIdLedgerOptions,
  ) {
    this.abandonAfterMs = options.abandonAfterMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async claim(ids: readonly string[]): Promise<LedgerClaim> {
    const ticket = `${this.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
    try {
      const keys = ids.map(claimKey);
      const fresh = await this.liveState.setManyIfAbsent(keys, ticket, this.options.windowMs);
      const outcomes: ClaimOutcome[] = fresh.map((isNew) => (isNew ? 'claimed' : 'published'));
      const taken = fresh.flatMap((isNew, i) => (isNew ? [] : [i]));
      if (taken.length > 0) await this.classifyTaken(keys, taken, ticket, outcomes);
      return { ticket, outcomes, degraded: false };
    } catch (error) {
      return { ticket, outcomes: ids.map(() => 'claimed'), degraded: true, error };
    }
  }

  /** Marks the claims of `ticket` as stored. */
  async confirm(claim: LedgerClaim): Promise<void> {
    if (claim.degraded) return;
    await this.liveState.set(ticketKey(claim.ticket), '1', this.options.windowMs);
  }

  /** Gives up the claims this request made, so a retry of the same events is accepted. */
  async release(claim: LedgerClaim, ids: readonly string[]): Promise<void> {
    if (claim.degraded) return;
    const mine = ids.filter((_, i) => claim.outcomes[i] === 'claimed');
    await Promise.all(mine.map((id) => this.liveState.delete(claimKey(id))));
  }

  private async classifyTaken(
    keys: string[],
    taken: number[],
    ticket: string,
    outcomes: ClaimOutcome[],
  ): Promise<void> {
    const holders = await Promise.all(taken.map((i) => this.liveState.get(keys[i]!)));
    const confirmed = new Map<string, boolean>();
    for (const holder of new Set(holders)) {
      if (holder && holder !== ticket) confirmed.set(holder, (await this.liveState.get(ticketKey(holder))) !== null);
    }
    const released: number[] = [];
    taken.forEach((index, n) => {
      const holder = holders[n];
      if (holder === ticket) outcomes[index] = 'repeated_in_request';
      else if (!holder) released.push(index);
      else if (confirmed.get(holder)) outcomes[index] = 'published';
      else
        outcomes[index] =
          this.now() - parseInt(holder.split('.')[0]!, 36) > this.abandonAfterMs ? 'abandoned' : 'in_flight';
    });
    if (released.length === 0) return;
    // The holder released (its publish failed) or the claim expired between our two reads: claim again.
    const again = await this.liveState.setManyIfAbsent(
      released.map((i) => keys[i]!),
      ticket,
      this.options.windowMs,
    );
    released.forEach((index, n) => (outcomes[index] = again[n] ? 'claimed' : 'in_flight'));
  }
}
