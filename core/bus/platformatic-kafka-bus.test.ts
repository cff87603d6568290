import { compatibilityPartitioner, defaultPartitioner } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from './partitioner.ts';
import { kafkaKeyPartition } from './platformatic-kafka-bus.ts';

// The library takes a partitioner's answer modulo the partition count, as this does.
const placed = (partitioner: (message: never, key: Buffer) => number, key: string, partitions: number) =>
  partitioner(undefined as never, Buffer.from(key, 'utf8')) % partitions;

const keys = [
  ...Array.from({ length: 5_000 }, (_, i) => `view-${i}`),
  ...Array.from({ length: 1_000 }, (_, i) => `${i.toString(36)}-stream-${'x'.repeat(i % 7)}`),
  '',
  'é-ü-日本-🎥',
];
const partitionCounts = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 64, 100];

describe('platformatic adapter key placement', () => {
  it.each(partitionCounts)(
    'places every key where core/bus/partitioner.ts (Kafka, kafkajs, the embedded log) does, over %i partitions',
    (partitions) => {
      const misplaced = keys.filter(
        (key) => placed(kafkaKeyPartition, key, partitions) !== partitionForKey(key, partitions),
      );
      expect(misplaced).toEqual([]);
    },
  );

  it("agrees with the library's Java-compatible partitioner, and not with its default one", () => {
    for (const key of keys) expect(placed(kafkaKeyPartition, key, 6)).toBe(placed(compatibilityPartitioner, key, 6));
    // Why the adapter names its partitioner: the default hashes unsigned and puts many keys elsewhere.
    const elsewhere = keys.filter((key) => placed(defaultPartitioner, key, 6) !== partitionForKey(key, 6));
    expect(elsewhere.length).toBeGreaterThan(keys.length / 4);
  });
});
