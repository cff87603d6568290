import { isIP } from 'node:net';

/**
 * Which peers may speak for the client through `X-Forwarded-For` / `X-Forwarded-Proto`: the load
 * balancers and ingress controllers in front of Livepulse, by address or CIDR range
 * (`LIVEPULSE_TRUSTED_PROXIES`). None by default: a server reached directly must not let any
 * client choose the address its rate limits and IP hash see. Fastify's `trustProxy` (proxy-addr)
 * walks the header from the right and stops at the first untrusted hop.
 */

/** proxy-addr's names for whole address ranges. */
const RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const;

export type TrustedProxiesParse = { ok: true; proxies: string[] } | { ok: false; problems: string[] };

function problemWith(entry: string): string | null {
  if ((RANGE_NAMES as readonly string[]).includes(entry)) return null;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return `"${entry}" is not an IP address, a CIDR range or one of ${RANGE_NAMES.join(', ')}`;
  if (prefix === undefined) return null;
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `"${entry}": the prefix length must be 0–${bits}`;
  return null;
}

/** `10.0.0.0/8, 192.168.1.7, loopback` → the list, or what is wrong with each bad entry. */
export function parseTrustedProxies(raw: string): TrustedProxiesParse {
  const proxies = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const problems = proxies.map(problemWith).filter((problem): problem is string => problem !== null);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, proxies };
}

/** Fastify's `trustProxy` for the configured proxies: off when there are none. */
export function trustProxyOption(proxies: readonly string[]): false | string[] {
  return proxies.length === 0 ? false : [...proxies];
}
