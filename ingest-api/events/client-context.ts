import { createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { UAParser } from 'ua-parser-js';

/**
 * What the collector learns about the client from the request itself: device, OS and browser
 * from the User-Agent, and a privacy-preserving form of the IP. The IP itself is never kept.
 */
export interface ClientDimensions {
  device?: string;
  os?: string;
  browser?: string;
}

const MAX_DIMENSION_LENGTH = 64;
const MAX_USER_AGENT_LENGTH = 512;

/**
 * ua-parser-js costs a few hundred microseconds per string, and a batch, a session and most
 * of an audience share a handful of user agents, so results are kept in a small LRU.
 */
export class UserAgentParser {
  private readonly cache = new Map<string, ClientDimensions>();

  constructor(private readonly maxEntries = 2_000) {}

  parse(userAgent: string | undefined): ClientDimensions {
    if (!userAgent) return {};
    const ua = userAgent.slice(0, MAX_USER_AGENT_LENGTH);
    const cached = this.cache.get(ua);
    if (cached) {
      this.cache.delete(ua);
      this.cache.set(ua, cached);
      return cached;
    }
    const parsed = UAParser(ua);
    const dimensions: ClientDimensions = {};
    // ua-parser-js leaves device.type empty for desktops; a recognised browser or OS without one is a desktop.
    const device = parsed.device.type ?? (parsed.browser.name || parsed.os.name ? 'desktop' : undefined);
    if (device) dimensions.device = clip(device);
    if (parsed.os.name) dimensions.os = clip(parsed.os.name);
    if (parsed.browser.name) dimensions.browser = clip(parsed.browser.name);
    this.cache.set(ua, dimensions);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    return dimensions;
  }
}

function clip(value: string): string {
  return value.length > MAX_DIMENSION_LENGTH ? value.slice(0, MAX_DIMENSION_LENGTH) : value;
}

/** IPv4 keeps its /24 and IPv6 its /48 (GDPR-style truncation); anything unparseable is null. */
export function truncateIp(ip: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0`;
  if (isIPv6(address)) {
    const groups = expandIPv6(address);
    return groups ? `${groups.slice(0, 3).join(':')}::` : null;
  }
  return null;
}

function expandIPv6(address: string): string[] | null {
  const withoutZone = address.split('%')[0]!;
  const [head, tail] = withoutZone.split('::') as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(':') : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  // An embedded IPv4 tail (::1.2.3.4) counts as two groups; only the first three groups are kept anyway.
  const count = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const missing = 8 - count(left) - count(right);
  if (tail === undefined && missing !== 0) return null;
  const groups = [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return groups.map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)));
}

/**
 * A keyed hash of the truncated IP and the UTC day: equal within a day for one network, not
 * reversible, and unlinkable across days (the daily-salt approach of privacy-first analytics).
 */
export function hashClientIp(ip: string | undefined, secret: string, at: number): string | undefined {
  if (!ip) return undefined;
  const truncated = truncateIp(ip);
  if (!truncated) return undefined;
  const day = new Date(at).toISOString().slice(0, 10);
  return createHmac('sha256', secret).update(`${day}|${truncated}`).digest('hex').slice(0, 32);
}
