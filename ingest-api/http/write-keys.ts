import { createHash } from 'node:crypto';
import type { WriteKey } from '../../core/config.ts';
import { ownValue } from '../../core/own-value.ts';

/**
 * Write keys identify the property (player app) that sends events. They are public in the
 * sense that a web page ships them, so what guards them is the list of browser origins allowed
 * to use them (checked on every request that carries an Origin header, not only by CORS) and
 * their being revocable. Lookups go by SHA-256 so no key comparison leaks timing.
 */
export interface ResolvedWriteKey {
  propertyId: string;
  /** Lower-case origins, `scheme://*.domain` patterns, or `*`. */
  allowedOrigins: readonly string[];
}

export type PresentedKey = { ok: true; key: string } | { ok: false; reason: string };

const digest = (key: string) => createHash('sha256').update(key).digest('base64');

export class WriteKeyDirectory {
  private readonly byDigest = new Map<string, ResolvedWriteKey>();
  private readonly everyOrigin: readonly string[];

  constructor(keys: readonly WriteKey[], originsByProperty: Record<string, string[]>) {
    for (const { key, propertyId } of keys) {
      this.byDigest.set(digest(key), { propertyId, allowedOrigins: ownValue(originsByProperty, propertyId) ?? ['*'] });
    }
    this.everyOrigin = [...this.byDigest.values()].flatMap((k) => k.allowedOrigins);
  }

  resolve(key: string): ResolvedWriteKey | undefined {
    return this.byDigest.get(digest(key));
  }

  /** For preflights that carry no key (the key comes later in an Authorization header): may any key be used from `origin`? */
  anyKeyAllows(origin: string): boolean {
    return originAllowed(origin, this.everyOrigin);
  }
}

/** The key from `Authorization: Bearer <key>` or, for beacons and CMCD URLs that cannot set headers, `?key=`. */
export function presentedWriteKey(authorization: string | undefined, queryKey: string | undefined): PresentedKey {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'the Authorization header must be "Bearer <write key>"' };
    return { ok: true, key: match[1]! };
  }
  if (queryKey) return { ok: true, key: queryKey };
  return { ok: false, reason: 'missing write key: send "Authorization: Bearer <key>" or ?key=<key>' };
}

export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  const candidate = origin.toLowerCase();
  for (const rule of allowed) {
    if (rule === '*' || rule === candidate) return true;
    const wildcard = /^(https?:\/\/)\*(\.[^:]+)(:\d+)?$/.exec(rule);
    if (wildcard) {
      const [, scheme, domain, port = ''] = wildcard;
      const parsed = /^(https?:\/\/)([^:/]+)(:\d+)?$/.exec(candidate);
      if (parsed && parsed[1] === scheme && (parsed[3] ?? '') === port && parsed[2]!.endsWith(domain!)) return true;
    }
  }
  return false;
}
