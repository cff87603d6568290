import type { FieldError } from '../../core/schemas/validate.ts';

/**
 * Device clocks are wrong by seconds to years. A batch says when the device sent it
 * (`metadata.sent_at`, device clock); the collector knows when it arrived (server clock). The
 * difference, less half the round trip the SDK measured, is the device's offset, and every
 * event of the batch is moved by it. Without `sent_at` the device time is taken as it is.
 * What is still in the future or too old afterwards is rejected, because it cannot be placed
 * in a window honestly.
 */
export interface ClockReference {
  /** Server time the request arrived, epoch ms. */
  receivedAt: number;
  /** Device time the batch was sent, epoch ms. */
  sentAt?: number;
  /** Round trip the client measured on its previous request. */
  rttMs?: number;
  maxEventAgeMs: number;
}

/** Corrected times may sit this far after `receivedAt` (rounding, a device clock stepping) before they count as future. */
export const FUTURE_TOLERANCE_MS = 60_000;

/** Device offset in ms: add it to a device timestamp to get server time. */
export function clockOffsetMs({
  receivedAt,
  sentAt,
  rttMs,
}: Pick<ClockReference, 'receivedAt' | 'sentAt' | 'rttMs'>): number {
  if (sentAt === undefined) return 0;
  const oneWayMs = rttMs !== undefined ? Math.round(rttMs / 2) : 0;
  return receivedAt - oneWayMs - sentAt;
}

export type CorrectedTime = { ok: true; eventTime: number } | { ok: false; error: FieldError };

export function correctEventTime(
  viewerTime: number,
  reference: ClockReference,
  offsetMs = clockOffsetMs(reference),
): CorrectedTime {
  const eventTime = viewerTime + offsetMs;
  const { receivedAt, maxEventAgeMs } = reference;
  if (eventTime > receivedAt + FUTURE_TOLERANCE_MS) {
    const what = reference.sentAt === undefined ? 'is in the future' : "is later than the batch's sent_at";
    return {
      ok: false,
      error: {
        path: '/viewer_time',
        message: `${what} by ${formatDuration(eventTime - receivedAt)} after clock correction`,
      },
    };
  }
  if (eventTime < receivedAt - maxEventAgeMs) {
    return {
      ok: false,
      error: {
        path: '/viewer_time',
        message: `is ${formatDuration(receivedAt - eventTime)} old after clock correction; at most ${formatDuration(maxEventAgeMs)} is accepted`,
      },
    };
  }
  return { ok: true, eventTime: Math.min(eventTime, receivedAt) };
}

function formatDuration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}
