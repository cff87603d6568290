import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partitioner.ts';

// Reference values from Kafka's Java Utils.murmur2 (clients/src/test/.../UtilsTest.java).
describe('murmur2', () => {
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %s like Kafka', (input, expected) => {
    expect(murmur2(Buffer.from(input))).toBe(expected);
  });

  it('keeps partitions in range and stable', () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionForKey(`view-${i}`, 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
      expect(partitionForKey(`view-${i}`, 6)).toBe(p);
    }
  });
});
