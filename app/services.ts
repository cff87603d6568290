import { chatGatewayService } from '../chat-gateway/service.ts';
import { clipWorkerService } from '../clip-worker/service.ts';
import { liveBoardService } from '../dashboards/live-board/service.ts';
import { queryApiService } from '../dashboards/query-api/service.ts';
import { ingestApiService } from '../ingest-api/service.ts';
import { highlightDetectorService } from '../stream-processors/highlights/service.ts';
import { clickHouseSinkService, snowflakeSinkService } from '../stream-processors/sinks/service.ts';
import { viewerAnalyticsService } from '../stream-processors/viewer-analytics/service.ts';
import { moderationService } from '../stream-processors/moderation/service.ts';
import { hostPromptsService } from '../stream-processors/host-prompts/service.ts';
import { CommandUsageError } from '../core/command-usage-error.ts';
import type { ServiceDefinition } from '../core/platform.ts';

/**
 * Every service Livepulse can run, in start order. `npm start` runs them all in one process;
 * `livepulse start <name>` runs one. Each capability adds itself here as it lands.
 */
export const SERVICES: ServiceDefinition[] = [
  ingestApiService,
  chatGatewayService,
  moderationService,
  hostPromptsService,
  viewerAnalyticsService,
  clickHouseSinkService,
  snowflakeSinkService,
  highlightDetectorService,
  clipWorkerService,
  liveBoardService,
  queryApiService,
];

export function findServices(names: string[]): ServiceDefinition[] {
  if (names.length === 0) return SERVICES;
  const unknown = names.filter((n) => !SERVICES.some((s) => s.name === n));
  if (unknown.length > 0) {
    const known = SERVICES.map((s) => s.name).join(', ') || '(none yet)';
    throw new CommandUsageError(`unknown service ${unknown.join(', ')}; known services: ${known}`);
  }
  return SERVICES.filter((s) => names.includes(s.name));
}
