/**
 * When a stream's chat window closes and is worth a look. Each stream runs on its own cadence,
 * from its first message: every `intervalMs` the last `windowMs` of chat is examined, unless fewer
 * than `minMessages` new (not yet suggested) messages passed moderation in it: a quiet chat costs
 * nothing and shows the host nothing.
 */
export interface ScheduleSettings {
  windowMs: number;
  intervalMs: number;
  minMessages: number;
}

export type RunPlan =
  | { run: true; windowStart: number; windowEnd: number; nextRunAt: number }
  | { run: false; reason: 'not_due' | 'quiet'; nextRunAt: number };

export function planRun(
  nextRunAt: number,
  newMessagesInWindow: (windowStart: number, windowEnd: number) => number,
  now: number,
  settings: ScheduleSettings,
): RunPlan {
  if (now < nextRunAt) return { run: false, reason: 'not_due', nextRunAt };
  const windowStart = now - settings.windowMs;
  const next = now + settings.intervalMs;
  if (newMessagesInWindow(windowStart, now) < settings.minMessages)
    return { run: false, reason: 'quiet', nextRunAt: next };
  return { run: true, windowStart, windowEnd: now, nextRunAt: next };
}
