import { createApiTokenVerifier } from '../../core/http/api-auth.ts';
import { IvsControlPlane } from '../../core/ivs/ivs-control-plane.ts';
import type { ServiceDefinition } from '../../core/platform.ts';
import { subscribeIvsStreamOwners } from '../../core/streams/ivs-stream-owners.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { queryRoutes } from './query-routes.ts';

/**
 * query-api: authenticated reads over the analytics store for dashboards, apps and creators:
 * stream metrics, a creator's streams and creator performance reports (JSON, CSV, PDF) under
 * `/v1`, and the stream registry that decides who may read them: its API, and the owners of IVS
 * streams read from their channels' tags as their Stream Starts arrive (core/streams/).
 */
export const queryApiService: ServiceDefinition = {
  name: 'query-api',
  description: 'stream metrics, creator streams, creator reports and the stream registry over the analytics store',
  async start(context) {
    const { config, analytics, liveState, bus, metrics, logger } = context;
    const registry = new StreamRegistry(analytics, liveState);
    await context.http.register(queryRoutes, {
      prefix: '/v1',
      analytics,
      objectStore: context.objectStore,
      verifier: createApiTokenVerifier(config.auth),
      registry,
      logger,
    });
    const ivs = new IvsControlPlane({ region: config.ivs.region, endpoint: config.ivs.endpoint });
    const ivsOwners = await subscribeIvsStreamOwners({
      bus,
      registry,
      channels: ivs,
      metrics,
      logger,
      dependencyCheck: () => analytics.ping(),
    });
    return {
      async stop() {
        await ivsOwners.stop();
        ivs.close();
      },
    };
  },
};
