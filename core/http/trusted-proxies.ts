import { BlockList, isIP } from 'node:net';

/**
 * Which peers may speak for the client through `X-Forwarded-For` / `X-Forwarded-Proto`: the load
 * balancers and ingress controllers in front of Livepulse, by address or CIDR range
 * (`LIVEPULSE_TRUSTED_PROXIES`). None by default: a server reached directly must not let any
 * client choose the address its rate limits and IP hash see. Fastify's `trustProxy` (proxy-addr)
 * walks the header from the right and stops at the first untrusted hop; `clientAddress` walks it
 * the same way for socket.io handshakes, which Fastify does not see.
 */

type Family = 'ipv4' | 'ipv6';
/** proxy-addr's names for whole address ranges, and the ranges. */
const RANGES = new Map<string, Array<[network: string, prefix: number, family: Family]>>([
  [
    'loopback',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'linklocal',
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  [
    'uniquelocal',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ],
  ],
]);
const RANGE_NAMES = [...RANGES.keys()];
function familyOf(address: string): Family | null {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : null;
}

export type TrustedProxiesParse = { ok: true; proxies: string[] } | { ok: false; problems: string[] };

function problemWith(entry: string): string | null {
  if (RANGES.has(entry)) return null;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0)
    return `"${entry}" is not an IP address, a CIDR range or one of ${RANGE_NAMES.join(', ')}`;
  if (prefix === undefined) return null;
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `"${entry}": the prefix length must be 0–${bits}`;
  return null;
}

/** `10.0.0.0/8, 192.168.1.7, loopback` → the list, or what is wrong with each bad entry. */
export function parseTrustedProxies(raw: string): TrustedProxiesParse {
  const proxies = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const problems = proxies.map(problemWith).filter((problem): problem is string => problem !== null);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, proxies };
}

/** Fastify's `trustProxy` for the configured proxies: off when there are none. */
export function trustProxyOption(proxies: readonly string[]): false | string[] {
  return proxies.length === 0 ? false : [...proxies];
}

/** The configured proxies as a set of address ranges (entries as parseTrustedProxies accepts them). */
export function trustedProxyRanges(proxies: readonly string[]): BlockList {
  const ranges = new BlockList();
  for (const entry of proxies) {
    const [address = '', prefix] = entry.split('/');
    const family = familyOf(address);
    const subnets =
      RANGES.get(entry) ??
      (family
        ? [[address, prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix), family] as const]
        : []);
    for (const [network, bits, kind] of subnets) ranges.addSubnet(network, bits, kind);
  }
  return ranges;
}

/**
 * The client's address as Fastify's `request.ip` has it: from the connecting peer leftwards
 * through `X-Forwarded-For`, the first address that is not a trusted proxy (or the leftmost).
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | readonly string[] | undefined,
  trusted: BlockList,
): string {
  const forwarded = [forwardedFor ?? []]
    .flat()
    .join(',')
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  const hops = [peer, ...forwarded.reverse()];
  const isTrusted = (address: string) => {
    const family = familyOf(address);
    return family !== null && trusted.check(address, family);
  };
  return hops.find((hop, index) => index === hops.length - 1 || !isTrusted(hop))!;
}
