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

/**
 * The compacted topic holding a viewer-analytics consumer group's state (Kafka Streams'
 * `<application.id>-<store>-changelog`): one per group, partitioned like `player.events`.
 * The processor creates it when it starts; `viewer-analytics.state-changelog` for the default group.
 */
export function stateChangelogTopic(groupId: string): string {
  return `${groupId}.state-changelog`;
}

export function allTopicSpecs(partitions: number): TopicSpec[] {
  return [
    ...Object.values(TOPICS).map((name) => ({ name, partitions })),
    { name: stateChangelogTopic('viewer-analytics'), partitions, compacted: true },
  ];
}
