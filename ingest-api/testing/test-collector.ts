import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Bus } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import type { LiveState } from '../../core/live-state/live-state.ts';
import { MemoryLiveState } from '../../core/live-state/memory-live-state.ts';
import { openApiDocument } from '../../core/http/openapi.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs } from '../../core/topics.ts';
import { ingestApi } from '../ingest-plugin.ts';

/**
 * The collector on its own fastify instance with the embedded bus and in-memory live state: what
 * the route tests drive with `app.inject`. Production wiring is the same plugin on the platform's
 * server (ingest-api/service.ts), with the platform's OpenAPI document before it.
 */
export const TEST_WRITE_KEY = 'lp_dev_write_key';
export const TEST_PROPERTY = 'demo';

export interface TestCollector {
  app: FastifyInstance;
  bus: EmbeddedBus;
  liveState: LiveState;
  metrics: Metrics;
  config: Config;
  /** Every message published so far on `topic`: the raw value and, where it is JSON, the parsed one. */
  records(
    topic: string,
  ): Array<{ key: string; raw: string; value: Record<string, unknown>; headers: Record<string, string> }>;
  close(): Promise<void>;
}

export async function startTestCollector(
  env: Record<string, string> = {},
  ports: { bus?: (embedded: EmbeddedBus) => Bus; liveState?: LiveState } = {},
): Promise<TestCollector> {
  const config = loadConfig(env);
  const embedded = new EmbeddedBus({
    defaultPartitions: 2,
    maxRetainedMessages: 1_000_000,
    publish: { lingerMs: 1, maxBatchMessages: 2_000, maxBufferedMessages: 100_000 },
  });
  await embedded.ensureTopics(allTopicSpecs(2));
  const liveState = ports.liveState ?? new MemoryLiveState();
  const metrics = new Metrics();
  const app = Fastify({ trustProxy: true, logger: false });
  await openApiDocument(app);
  await app.register(ingestApi, {
    config,
    logger: pino({ level: 'silent' }),
    metrics,
    bus: ports.bus ? ports.bus(embedded) : embedded,
    liveState,
  });
  await app.ready();
  return {
    app,
    bus: embedded,
    liveState,
    metrics,
    config,
    records(topic) {
      const out: ReturnType<TestCollector['records']> = [];
      for (let p = 0; p < embedded.partitionCount(topic); p++) {
        for (const r of embedded.partitionLog(topic, p).read(0, Number.MAX_SAFE_INTEGER)) {
          const raw = r.value.toString('utf8');
          out.push({ key: r.key, raw, value: parseJson(raw), headers: r.headers });
        }
      }
      return out;
    },
    async close() {
      await app.close();
      await embedded.close();
      await liveState.close();
    },
  };
}

function parseJson(raw: string): Record<string, unknown> {
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
}
