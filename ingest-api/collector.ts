import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Bus } from '../core/bus/bus.ts';
import type { Config, IngestSettings } from '../core/config.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import type { Metrics } from '../core/metrics.ts';
import { hashClientIp, UserAgentParser } from './events/client-context.ts';
import type { RequestContext } from './events/enrich-player-event.ts';
import { EventIdLedger } from './events/event-id-ledger.ts';
import type { PublishPorts } from './events/publish-player-events.ts';
import { WriteKeyDirectory, type ResolvedWriteKey } from './http/write-keys.ts';
import { ingestMetrics, type EventSource, type IngestMetrics } from './ingest-metrics.ts';

/** The platform ports the collector uses (a subset of PlatformContext, so tests can build it alone). */
export interface CollectorPorts {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  bus: Bus;
  liveState: LiveState;
}

/** What every collector route shares: settings, keys, dedupe ledger, metrics and request enrichment. */
export interface Collector {
  settings: IngestSettings;
  ports: CollectorPorts;
  metrics: IngestMetrics;
  writeKeys: WriteKeyDirectory;
  publishPorts: PublishPorts;
  requestContext(request: FastifyRequest, source: Exclude<EventSource, 'ivs'>, receivedAt: number): RequestContext;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The write key the request was authenticated with (collector routes only). */
    ingestKey: ResolvedWriteKey | null;
  }
}

export function createCollector(ports: CollectorPorts): Collector {
  const { config, logger, bus, liveState } = ports;
  const settings = config.ingest;
  const metrics = ingestMetrics(ports.metrics);
  const ledger = new EventIdLedger(liveState, { windowMs: settings.dedupeWindowMs });
  const userAgents = new UserAgentParser();
  // Without a configured secret, hashes are comparable only within this process's lifetime.
  const ipSecret = settings.ipHashSecret ?? randomBytes(32).toString('base64');
  return {
    settings,
    ports,
    metrics,
    writeKeys: new WriteKeyDirectory(config.auth.writeKeys, config.auth.writeKeyOrigins),
    publishPorts: { bus, ledger, metrics, logger, publishDeadlineMs: settings.publishDeadlineMs },
    requestContext(request, source, receivedAt) {
      return {
        propertyId: request.ingestKey!.propertyId,
        receivedAt,
        source,
        client: userAgents.parse(request.headers['user-agent']),
        clientIpHash: hashClientIp(request.ip, ipSecret, receivedAt),
      };
    },
  };
}
