import { describe, expect, it } from 'vitest';
import { ProgressReader } from './progress.ts';

describe('ProgressReader', () => {
  it('reports position, speed and ratio at the end of each -progress block', () => {
    const reader = new ProgressReader(30_000);
    const lines = [
      'frame=150',
      'out_time_us=5000000',
      'out_time_ms=5000000',
      'speed=1.48x',
      'progress=continue',
      'out_time_us=30016000',
      'speed=1.51x',
      'progress=end',
    ];
    const reports = lines.map((line) => reader.read(line)).filter((r) => r !== null);
    expect(reports).toEqual([
      { outTimeMs: 5_000, speed: 1.48, ratio: 5_000 / 30_000, done: false },
      { outTimeMs: 30_016, speed: 1.51, ratio: 1, done: true },
    ]);
  });

  it('leaves the ratio out without a duration and ignores speed N/A', () => {
    const reader = new ProgressReader();
    for (const line of ['out_time_us=1000', 'speed=N/A']) expect(reader.read(line)).toBeNull();
    expect(reader.read('progress=continue')).toEqual({ outTimeMs: 1, done: false });
  });

  it('ignores lines that are not key=value and negative positions', () => {
    const reader = new ProgressReader(1_000);
    expect(reader.read('[h264 @ 0x1] co located POCs unavailable')).toBeNull();
    reader.read('out_time_us=-23000');
    expect(reader.read('progress=continue')).toEqual({ outTimeMs: 0, done: false, ratio: 0 });
  });
});
