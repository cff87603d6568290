import { z } from 'zod';
import { parseTrustedProxies } from '../http/trusted-proxies.ts';
import { configSection, optionalString, whenUnset } from './fields.ts';

/** Shared with the sections that keep files under it (the embedded bus, chDB, local objects). */
export const dataDirVariable = z
  .string()
  .trim()
  .default('./data')
  .describe('embedded mode: chDB data (`chdb/`) and local objects (`objects/`)');

export const serverSection = configSection({
  variables: z.object({
    PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65_535)
      .default(8080)
      .describe('HTTP port for APIs, socket.io, `/healthz`, `/readyz`, `/metrics`'),
    HOST: z.string().trim().default('127.0.0.1').describe('interface to bind; set `0.0.0.0` in containers'),
    LIVEPULSE_TRUSTED_PROXIES: whenUnset(
      optionalString.describe(
        'load balancers and ingress controllers whose `X-Forwarded-For` is believed (HTTP requests and chat handshakes): comma-separated addresses, CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) or `loopback`, `linklocal`, `uniquelocal`; the client address is the rightmost one that is not a trusted proxy ([deployment.md](deployment.md#behind-a-load-balancer-trusted-proxies))',
      ),
      '— (trust nobody)',
    ),
    LIVEPULSE_DATA_DIR: dataDirVariable,
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('the least severe level logged, or `silent`'),
    LOG_FORMAT: z
      .enum(['auto', 'json', 'pretty'])
      .default('auto')
      .describe(
        '`auto`: coloured, human-readable lines (pino-pretty) when stdout is a terminal, JSON lines otherwise (collectors, files, pipes); `json` or `pretty` to choose',
      ),
  }),
  rules: (e) => {
    const trusted = parseTrustedProxies(e.LIVEPULSE_TRUSTED_PROXIES ?? '');
    return trusted.ok ? [] : trusted.problems.map((problem) => `LIVEPULSE_TRUSTED_PROXIES: ${problem}`);
  },
  toConfig: (e) => {
    const trusted = parseTrustedProxies(e.LIVEPULSE_TRUSTED_PROXIES ?? '');
    return {
      http: {
        port: e.PORT,
        host: e.HOST,
        /** Addresses and CIDR ranges whose X-Forwarded-For is believed; none by default. */
        trustedProxies: trusted.ok ? trusted.proxies : [],
      },
      dataDir: e.LIVEPULSE_DATA_DIR,
      logLevel: e.LOG_LEVEL,
      /** `auto` is `pretty` when stdout is a terminal, else `json` (core/logger.ts). */
      logFormat: e.LOG_FORMAT,
    };
  },
});
