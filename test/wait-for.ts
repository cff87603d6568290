import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `condition` holds (or returns a value), failing with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: string | undefined;
  while (Date.now() < deadline) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = String(error);
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

/**
 * Polls `remaining` — messages a consumer has yet to handle, rows yet to arrive — until it is 0.
 * Fails only when it has not shrunk for `stallMs`, so a busy machine makes the wait longer, not
 * red, while a consumer that stopped moving is still reported (with how much it left).
 */
export async function waitForProgress(
  what: string,
  remaining: () => number | Promise<number>,
  { stallMs = 120_000, intervalMs = 500 }: { stallMs?: number; intervalMs?: number } = {},
): Promise<void> {
  let lowest = Number.POSITIVE_INFINITY;
  let movedAt = Date.now();
  let lastError: string | undefined;
  for (;;) {
    try {
      const left = await remaining();
      if (left <= 0) return;
      if (left < lowest) {
        lowest = left;
        movedAt = Date.now();
      }
    } catch (error) {
      lastError = String(error);
    }
    if (Date.now() - movedAt > stallMs) {
      throw new Error(
        `no progress for ${stallMs} ms waiting for ${what} (${Number.isFinite(lowest) ? `${lowest} left` : 'never measured'})${lastError ? `: ${lastError}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}
