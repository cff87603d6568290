import type { RateDecision } from './live-state.ts';

/**
 * The rate-limit algorithm of every LiveState adapter: a sliding-window log.
 *
 * The log holds the times of the attempts that were allowed. An attempt at `now` is allowed
 * while fewer than `limit` of them fall in the window (now - windowMs, now]. Rejected attempts
 * are not logged, so a client that keeps hammering gets back in as soon as its oldest allowed
 * attempt leaves the window, not never.
 *
 * Accuracy: exact, to the clock's millisecond; there is no approximation at window edges
 * (unlike fixed windows, or the two-bucket sliding-window counter that can let through up to
 * 2 × limit in a window). The price is memory: up to `limit` timestamps per key, which is fine
 * for the per-user and per-key limits Livepulse sets (tens to a few thousand per window).
 *
 * The Redis adapter runs the same steps in a Lua script (see redis-live-state.ts); keep the two
 * in step.
 */
export function consumeSlidingWindowLog(log: number[], now: number, limit: number, windowMs: number): RateDecision {
  const firstInWindow = log.findIndex((time) => time > now - windowMs);
  log.splice(0, firstInWindow === -1 ? log.length : firstInWindow);
  if (log.length < limit) {
    log.push(now);
    return { allowed: true, remaining: limit - log.length, retryAfterMs: 0 };
  }
  // The oldest logged attempt leaves the window at oldest + windowMs; then one more fits.
  return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(log[0]! + windowMs - now)) };
}
