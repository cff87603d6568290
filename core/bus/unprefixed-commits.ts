import type { Logger } from 'pino';

/** How an adapter reads and writes a group's commits: offsets by partition (-1: none), per logical topic. */
export interface GroupCommitsPort {
  committed(physicalGroupId: string, topic: string): Promise<number[]>;
  setCommitted(
    physicalGroupId: string,
    topic: string,
    partitions: Array<{ partition: number; offset: number }>,
  ): Promise<void>;
}

/**
 * Before group ids carried the topic prefix, a prefixed deployment committed under the bare group
 * id, on its own (prefixed) topics. The first time the prefixed group subscribes, it starts from
 * those commits instead of from the start or end of the topics. Best effort: a group that has
 * commits already, or a broker that refuses, keeps what it has. Shared by both Kafka adapters.
 */
export async function adoptUnprefixedCommits(
  prefix: string,
  groupId: string,
  topics: readonly string[],
  port: GroupCommitsPort,
  logger?: Logger,
): Promise<void> {
  if (prefix === '') return;
  const prefixed = prefix + groupId;
  try {
    const read = (group: string) =>
      Promise.all(topics.map(async (topic) => [topic, await port.committed(group, topic)] as const));
    const [mine, legacy] = await Promise.all([read(prefixed), read(groupId)]);
    if (mine.some(([, offsets]) => offsets.some((offset) => offset >= 0))) return;
    for (const [topic, offsets] of legacy) {
      const partitions = offsets.flatMap((offset, partition) => (offset >= 0 ? [{ partition, offset }] : []));
      if (partitions.length === 0) continue;
      await port.setCommitted(prefixed, topic, partitions);
      logger?.info(
        { groupId: prefixed, from: groupId, topic, partitions: partitions.length },
        'consumer group: took over the commits made under the unprefixed group id',
      );
    }
  } catch (error) {
    logger?.warn(
      { err: error, groupId: prefixed },
      'consumer group: could not take over the commits of the unprefixed group id',
    );
  }
}
