import { availableParallelism } from 'node:os';
import type { ServiceDefinition } from '../../core/platform.ts';
import { TOPICS } from '../../core/topics.ts';
import { AnalyticsWorkerPool } from './analytics-worker-pool.ts';
import { ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';
import { analyticsThreadCount } from './worker-threads-plan.ts';

/**
 * `livepulse start viewer-analytics`: the processor from player events to window rows and view
 * summaries. On Kafka it runs in ANALYTICS_WORKER_THREADS worker threads (by default one per
 * available core, at most one per partition), each a member of the consumer group; on the
 * embedded bus, or with one thread, in the main thread.
 */
export const viewerAnalyticsService: ServiceDefinition = {
  name: 'viewer-analytics',
  description: 'player events → concurrency, engagement and QoE windows and view summaries on analytics.aggregates',
  async start({ bus, metrics, logger, config, fail }) {
    const partitions =
      config.bus.kind === 'kafka' ? (await bus.endOffsets(TOPICS.playerEvents)).length : config.bus.partitions;
    const { threads, why } = analyticsThreadCount({
      setting: config.analyticsWorkerThreads,
      busKind: config.bus.kind,
      analyticsStoreKind: config.analyticsStore.kind,
      availableCores: availableParallelism(),
      partitions,
    });
    logger.info({ threads, why }, 'viewer analytics threads');
    if (threads === 1) {
      const processor = new ViewerAnalyticsProcessor({ bus, metrics, logger }, { settings: config.analytics });
      await processor.start();
      return { stop: () => processor.stop() };
    }
    const pool = new AnalyticsWorkerPool({ config, threads, metrics, logger, onGiveUp: fail });
    await pool.start();
    return { stop: () => pool.stop(), readiness: [pool.readiness] };
  },
};
