import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.ts';
import { documentRoutes } from './openapi.ts';

/** A dependency the process needs before it can serve: bus, store, live state, object store. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/**
 * `/healthz`: the process is alive (no dependency checks, so a broker outage does not get
 * every pod restarted). `/readyz`: every dependency answered within the timeout.
 * `/metrics`: Prometheus text format, worker threads' metrics summed in.
 */
export function healthRoutes(
  app: FastifyInstance,
  { checks, metrics, timeoutMs = 2_000 }: { checks: ReadinessCheck[]; metrics: Metrics; timeoutMs?: number },
): Promise<void> {
  documentRoutes(app, { tags: ['operations'] });
  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return { name, ok: true as const };
        } catch (error) {
          return { name, ok: false as const, error: error instanceof Error ? error.message : String(error) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.exposition();
  });
  return Promise.resolve();
}
