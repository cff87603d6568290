import type { BoardSpec } from './board-model.ts';
import { chatModeration } from './chat-moderation.ts';
import { creatorPerformance } from './creator-performance.ts';
import { liveOverview } from './live-overview.ts';
import { pipelineHealth } from './pipeline-health.ts';
import { qoe } from './qoe.ts';
import { streamDrilldown } from './stream-drilldown.ts';

/** Every board provisioned into Grafana, in the order of the folder. */
export const BOARDS: BoardSpec[] = [
  liveOverview,
  streamDrilldown,
  qoe,
  chatModeration,
  creatorPerformance,
  pipelineHealth,
];
