import { parentPort, workerData } from 'node:worker_threads';
import { forwardingBus, type Bus, type Subscription } from '../../core/bus/bus.ts';
import { createLogger } from '../../core/logger.ts';
import { heldPartitionsOnly, Metrics } from '../../core/metrics.ts';
import { createServiceBus } from '../../core/platform.ts';
import { TOPICS } from '../../core/topics.ts';
import type { FromWorker, ToWorker, WorkerData } from './analytics-worker-pool.ts';
import { ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';

/**
 * One worker thread of the viewer-analytics pool: ports of its own (bus connection, logger,
 * metrics registry; the processor's state is on the bus, so no ClickHouse client) and one ViewerAnalyticsProcessor, a member of the same
 * consumer group as its siblings. It answers the main thread's metrics and readiness requests
 * and stops on request after its last checkpoint. An uncaught error ends the thread; the pool
 * restarts it.
 */
const port = parentPort!;
const { index, config, metricLabels, logFormat, groupId } = workerData as WorkerData;
const post = (message: FromWorker) => port.postMessage(message);

const logger = createLogger(config.logLevel, { format: logFormat }).child({
  service: 'viewer-analytics',
  worker: index,
});
const metrics = new Metrics(metricLabels, { processMetrics: false });
const held = trackSubscription(createServiceBus(config.bus, metrics, logger));
const processor = new ViewerAnalyticsProcessor(
  { bus: held.bus, metrics, logger },
  { settings: config.analytics, groupId },
);
let stopping: Promise<void> | null = null;
const started = (async () => {
  await processor.start();
  await processor.ready();
})();

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'metrics':
      void metrics
        .snapshot()
        .then((snapshot) =>
          post({ type: 'metrics', id: message.id, snapshot: heldPartitionsOnly(snapshot, held.partitions()) }),
        );
      return;
    case 'ping':
      Promise.all([processor.ready(), held.bus.ping()]).then(
        () => post({ type: 'pong', id: message.id }),
        (error: unknown) =>
          post({ type: 'pong', id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
      return;
    case 'stop':
      stopping ??= (async () => {
        // A stop during the start waits for it: the subscription it makes must be stopped too.
        await started.catch(() => undefined);
        await processor.stop();
        await held.bus
          .close()
          .catch((error: unknown) => logger.warn({ err: error }, 'viewer analytics worker: closing its bus failed'));
        logger.info('viewer analytics worker stopped');
        port.close();
      })();
      return;
  }
});

await started;
logger.info('viewer analytics worker started');
post({ type: 'ready' });

/** The bus, and the player.events partitions its subscription holds right now. */
function trackSubscription(bus: Bus): { bus: Bus; partitions: () => Set<number> } {
  let subscription: Subscription | null = null;
  return {
    partitions: () => new Set(subscription?.assignedPartitions()[TOPICS.playerEvents] ?? []),
    bus: forwardingBus(bus, { subscribe: async (options) => (subscription = await bus.subscribe(options)) }),
  };
}
