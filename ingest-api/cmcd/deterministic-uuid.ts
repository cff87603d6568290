import { createHash } from 'node:crypto';

/**
 * A UUID (version 8, RFC 9562) derived from a name: the same CMCD report line always yields the
 * same event_id, so a report the player resends after a 5xx is deduplicated like an SDK retry.
 */
export function deterministicUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
