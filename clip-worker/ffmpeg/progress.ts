/**
 * ffmpeg's `-progress` output: `key=value` lines, a block per report ending in
 * `progress=continue` or `progress=end`. We read the output position and the speed
 * (media seconds per wall second, ffmpeg's `speed=1.5x`).
 */
export interface FfmpegProgress {
  /** Output position in milliseconds of media. */
  outTimeMs: number;
  /** ffmpeg's own speed figure: 2 means twice realtime. Absent until ffmpeg knows it. */
  speed?: number;
  /** outTimeMs ÷ the expected duration, 0–1, when the duration is known. */
  ratio?: number;
  done: boolean;
}

export class ProgressReader {
  private outTimeMs = 0;
  private speed: number | undefined;

  constructor(private readonly expectedDurationMs?: number) {}

  /** Feeds one line; returns a report when the line closes a block. */
  read(line: string): FfmpegProgress | null {
    const equals = line.indexOf('=');
    if (equals === -1) return null;
    const key = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    switch (key) {
      case 'out_time_us':
      case 'out_time_ms': {
        // ffmpeg prints microseconds under both names (out_time_ms is a historical misnomer).
        const micros = Number(value);
        if (Number.isFinite(micros) && micros >= 0) this.outTimeMs = micros / 1000;
        return null;
      }
      case 'speed': {
        const speed = Number.parseFloat(value.replace(/x$/, ''));
        this.speed = Number.isFinite(speed) && speed > 0 ? speed : this.speed;
        return null;
      }
      case 'progress': {
        const report: FfmpegProgress = { outTimeMs: this.outTimeMs, done: value === 'end' };
        if (this.speed !== undefined) report.speed = this.speed;
        if (this.expectedDurationMs && this.expectedDurationMs > 0) {
          report.ratio = report.done ? 1 : Math.min(1, this.outTimeMs / this.expectedDurationMs);
        }
        return report;
      }
      default:
        return null;
    }
  }
}
