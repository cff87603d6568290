import type { ServiceDefinition } from '../../core/platform.ts';
import { ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';

/** `livepulse start viewer-analytics`: the processor from player events to window rows and view summaries. */
export const viewerAnalyticsService: ServiceDefinition = {
  name: 'viewer-analytics',
  description: 'player events → concurrency, engagement and QoE windows and view summaries on analytics.aggregates',
  async start({ bus, metrics, logger, config }) {
    const processor = new ViewerAnalyticsProcessor({ bus, metrics, logger }, { settings: config.analytics });
    await processor.start();
    return { stop: () => processor.stop() };
  },
};
