import { mkdir } from 'node:fs/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createAnalyticsStore, type AnalyticsStore } from './analytics-store/analytics-store.ts';
import { applyMigrations } from './analytics-store/migrations.ts';
import type { Bus } from './bus/bus.ts';
import { withConsumerLagMetric } from './bus/consumer-lag.ts';
import { createBus } from './bus/create-bus.ts';
import { withQuarantine } from './bus/quarantine.ts';
import type { Config } from './config.ts';
import { healthRoutes, type ReadinessCheck } from './http/health-routes.ts';
import { openApiDocument } from './http/openapi.ts';
import { trustProxyOption } from './http/trusted-proxies.ts';
import { createLiveState } from './live-state/create-live-state.ts';
import type { LiveState } from './live-state/live-state.ts';
import type { Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { createObjectStore } from './object-store/create-object-store.ts';
import type { ObjectStore } from './object-store/object-store.ts';
import { allTopicSpecs } from './topics.ts';

/** What every service gets: the configured ports and the shared HTTP server. */
export interface PlatformContext {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  bus: Bus;
  analytics: AnalyticsStore;
  liveState: LiveState;
  objectStore: ObjectStore;
  /** Routes are registered before the server listens. */
  http: FastifyInstance;
  /** For a service that cannot go on (its workers keep crashing): the platform stops and the process exits non-zero. */
  fail(this: void, error: Error): void;
}

export interface RunningService {
  stop(): Promise<void>;
  readiness?: ReadinessCheck[];
}

/** A service registers its routes and starts its consumers; the platform owns the ports. */
export interface ServiceDefinition {
  name: string;
  description: string;
  start(context: PlatformContext): Promise<RunningService>;
}

export interface RunningPlatform {
  url: string;
  context: PlatformContext;
  stop(): Promise<void>;
  /** Resolves when a service failed for good (PlatformContext.fail) and the platform has stopped. */
  failed: Promise<Error>;
}

/**
 * The bus as every consumer gets it: every subscription is reported as consumer lag on /metrics,
 * and what fails deterministically is quarantined instead of stalling its partition
 * (core/bus/quarantine.ts). Worker threads build theirs the same way.
 */
export function createServiceBus(config: Config['bus'], metrics: Metrics, logger: Logger): Bus {
  const busLogger = logger.child({ component: 'bus' });
  return withConsumerLagMetric(withQuarantine(createBus(config, busLogger), { metrics, logger: busLogger }), metrics);
}

/** What a random per-process secret (see resolveCredentials) means for the people using the server. */
const RANDOM_SECRET_EFFECTS = new Map([
  [
    'LIVEPULSE_JWT_SECRET',
    'every chat and API token is refused (chat is read-only for anonymous readers, the query API and live board answer 401) and livepulse token / api-token refuse to mint',
  ],
  ['LIVEPULSE_IVS_WEBHOOK_SECRET', '/v1/ivs/events refuses every delivery'],
]);

/** Random stand-ins for unset secrets; the development-credentials banner is the CLI's (app/cli/development-credentials.ts). */
function warnAboutRandomSecrets(config: Config, logger: Logger): void {
  for (const secret of config.auth.randomSecrets) {
    logger.warn(
      { secret },
      `${secret} is not set while other credentials are: a random per-process value stands in for the public development one, so ${RANDOM_SECRET_EFFECTS.get(secret) ?? 'nothing from outside matches it'} until it is set`,
    );
  }
}

/**
 * Builds the ports from the configuration, prepares storage and topics, starts the services
 * and serves HTTP (APIs, socket.io, /healthz, /readyz, /metrics) on one port.
 */
export async function startPlatform(
  config: Config,
  services: ServiceDefinition[],
  logger: Logger,
): Promise<RunningPlatform> {
  warnAboutRandomSecrets(config, logger);
  if (config.mode === 'embedded') await mkdir(config.dataDir, { recursive: true });

  const metrics = new Metrics({ service: services.map((s) => s.name).join('+') || 'platform' });
  const bus = createServiceBus(config.bus, metrics, logger);
  const analytics = await createAnalyticsStore(config.analyticsStore);
  const liveState = createLiveState(config.liveState, logger.child({ component: 'live-state' }));
  const objectStore = createObjectStore(config.objectStore);
  const closePorts = () => Promise.allSettled([bus.close(), analytics.close(), liveState.close(), objectStore.close()]);

  try {
    await applyMigrations(analytics);
    await bus.ensureTopics(allTopicSpecs(config.bus.partitions));
  } catch (error) {
    await closePorts();
    throw error;
  }

  const httpLogger: FastifyBaseLogger = logger.child({ component: 'http' });
  const http: FastifyInstance = Fastify({
    loggerInstance: httpLogger,
    // Per-request access logs would dominate the collector's cost; request metrics cover them.
    logController: new LogController({ disableRequestLogging: true }),
    // X-Forwarded-For counts only from the configured proxies (LIVEPULSE_TRUSTED_PROXIES).
    trustProxy: trustProxyOption(config.http.trustedProxies),
    // Ids in paths may be 128 characters (core/schemas/common.ts); the router's default cut-off is 100.
    routerOptions: { maxParamLength: 256 },
  });
  let stop: () => Promise<void> = () => Promise.resolve();
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    reportFailure = resolve;
  });
  let failure: Error | null = null;
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    logger.fatal({ err: error }, 'a service cannot go on; stopping');
    void stop()
      .catch((stopError: unknown) => logger.error({ err: stopError }, 'the platform did not stop cleanly'))
      .then(() => reportFailure(error));
  };
  const context: PlatformContext = { config, logger, metrics, bus, analytics, liveState, objectStore, http, fail };

  const running: Array<{ name: string; service: RunningService }> = [];
  const checks: ReadinessCheck[] = [
    { name: `bus:${bus.kind}`, check: () => bus.ping() },
    { name: `analytics-store:${analytics.kind}`, check: () => analytics.ping() },
    { name: `live-state:${liveState.kind}`, check: () => liveState.ping() },
    { name: `object-store:${objectStore.kind}`, check: () => objectStore.ping() },
  ];

  const stopServices = async () => {
    for (const { name, service } of running.reverse()) {
      try {
        await service.stop();
      } catch (error) {
        logger.error({ err: error, service: name }, 'service did not stop cleanly');
      }
    }
  };

  try {
    // Before any route: the document lists only what is registered after it.
    await openApiDocument(http);
    await http.register(healthRoutes, { checks, metrics });
    for (const definition of services) {
      const service = await definition.start({ ...context, logger: logger.child({ service: definition.name }) });
      running.push({ name: definition.name, service });
      checks.push(...(service.readiness ?? []));
    }
    await http.listen({ port: config.http.port, host: config.http.host });
  } catch (error) {
    await http.close().catch(() => undefined);
    await stopServices();
    await closePorts();
    throw error;
  }

  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${port}`;
  logger.info({ url, mode: config.mode, services: services.map((s) => s.name) }, 'livepulse is up');

  let stopping: Promise<void> | null = null;
  stop = () => {
    stopping ??= (async () => {
      // Stop taking requests first, then let consumers finish and commit, then flush the bus.
      await http.close();
      await stopServices();
      await closePorts();
    })();
    return stopping;
  };
  return { url, context, stop, failed };
}
