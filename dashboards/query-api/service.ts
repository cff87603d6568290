import { createApiTokenVerifier } from '../../core/http/api-auth.ts';
import type { ServiceDefinition } from '../../core/platform.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { queryRoutes } from './query-routes.ts';

/**
 * query-api: authenticated reads over the analytics store for dashboards, apps and creators:
 * stream metrics, a creator's streams and creator performance reports (JSON, CSV, PDF) under
 * `/v1`, and the stream registry that decides who may read them. Stateless: every answer is a
 * query or a registry write, so stopping it has nothing to flush.
 */
export const queryApiService: ServiceDefinition = {
  name: 'query-api',
  description: 'stream metrics, creator streams, creator reports and the stream registry over the analytics store',
  async start(context) {
    await context.http.register(queryRoutes, {
      prefix: '/v1',
      analytics: context.analytics,
      objectStore: context.objectStore,
      verifier: createApiTokenVerifier(context.config.auth),
      registry: new StreamRegistry(context.analytics, context.liveState),
      logger: context.logger,
    });
    return { stop: async () => undefined };
  },
};
