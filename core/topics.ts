import type { TopicSpec } from './bus/bus.ts';

/**
 * Bus topics and their keys. Player events are keyed by view_id so a 100k-viewer stream spreads
 * over every partition; everything per stream is keyed by stream_id.
 */
export const TOPICS = {
  playerEvents: 'player.events',
  chatMessages: 'chat.messages',
  chatVerdicts: 'chat.verdicts',
  streamLifecycle: 'stream.lifecycle',
  hostPrompts: 'host.prompts',
  highlights: 'highlights',
  clips: 'clips',
  analyticsAggregates: 'analytics.aggregates',
  deadLetters: 'dead-letters',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

export function allTopicSpecs(partitions: number): TopicSpec[] {
  return Object.values(TOPICS).map((name) => ({ name, partitions }));
}
