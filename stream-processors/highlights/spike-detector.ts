import { highlightId, type Highlight } from '../../core/schemas/highlight.ts';

/**
 * Highlight detection, pure. Per stream, chat is counted in buckets (5 s by default) and each
 * closed bucket is scored against the stream's own EWMA baseline:
 *
 * - chat rate per 100 viewers (the patent US-10972524 idea: expected chat volume follows the
 *   audience), so a raid that doubles viewers and chat alike is not a chat spike;
 * - z-score of that rate, with the standard deviation floored by Poisson noise, so three
 *   messages in a silent stream are not "twelve sigmas";
 * - a hype bonus: the share of messages with hype terms or emotes above its own baseline;
 * - absolute floors (messages, unique chatters), which keep one user's copy-pasta out;
 * - viewer surges: concurrency well above its baseline is a highlight of its own.
 *
 * A detection becomes a highlight from `preRollMs` before the onset bucket (chat reacts after the
 * moment) to `postRollMs` after it, capped at 60 s, followed by a cooldown. The onset bucket
 * never feeds the baseline; buckets in the cooldown do, so a lasting rise becomes the new normal
 * rather than a highlight every cooldown, and a viewer surge resets the audience baseline.
 */
export interface DetectorSettings {
  bucketMs: number;
  /** EWMA weight of each new bucket (0.1 per 5 s bucket: a half-life of ~33 s). */
  alpha: number;
  zThreshold: number;
  /** The rate must also be at least this multiple of the baseline mean. */
  minRateRatio: number;
  minMessages: number;
  minUniqueChatters: number;
  /** Score points per unit of hype share above baseline (a 50-point lift adds 1 at weight 2). */
  hypeWeight: number;
  /** Viewers at least this fraction above their baseline… */
  viewerSurgeRatio: number;
  /** …and at least this many more viewers. */
  minSurgeViewers: number;
  /** Buckets of baseline needed before anything is detected. */
  warmupBuckets: number;
  cooldownMs: number;
  preRollMs: number;
  postRollMs: number;
  maxClipMs: number;
}

export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = {
  bucketMs: 5_000,
  alpha: 0.1,
  zThreshold: 3,
  minRateRatio: 2,
  minMessages: 10,
  minUniqueChatters: 5,
  hypeWeight: 2,
  viewerSurgeRatio: 0.3,
  minSurgeViewers: 20,
  warmupBuckets: 12,
  cooldownMs: 45_000,
  preRollMs: 20_000,
  postRollMs: 10_000,
  maxClipMs: 60_000,
};

export interface ChatBucket {
  startMs: number;
  /** Messages counted (held ones count; blocked ones, spam and abuse, do not). */
  messages: number;
  uniqueChatters: number;
  hypeMessages: number;
  /** Concurrent viewers in the window covering the bucket's end, when known. */
  viewers?: number;
}

interface Ewma {
  mean: number;
  variance: number;
}

export interface StreamBaseline {
  samples: number;
  /** Whether `rate` is per 100 viewers (see `baselineInUnitsOf` for the switch). */
  perViewer: boolean;
  rate: Ewma;
  /** Raw messages per bucket, for the Poisson floor of the rate's deviation. */
  messages: Ewma;
  hypeShare: Ewma;
  viewers?: Ewma;
}

export interface DetectorState {
  baseline: StreamBaseline;
  lastViewers?: number;
  /** Onset of the last highlight, for the cooldown. */
  lastOnsetMs?: number;
}

export interface BucketScore {
  rate: number;
  z: number;
  hypeShare: number;
  score: number;
  viewerGrowth?: number;
  viewerZ?: number;
  chatSpike: boolean;
  viewerSurge: boolean;
}

export function initialDetectorState(): DetectorState {
  return { baseline: emptyBaseline(false) };
}

function emptyBaseline(perViewer: boolean): StreamBaseline {
  return {
    samples: 0,
    perViewer,
    rate: { mean: 0, variance: 0 },
    messages: { mean: 0, variance: 0 },
    hypeShare: { mean: 0, variance: 0 },
  };
}

/** West's incremental EWMA of mean and variance. */
function ewma(previous: Ewma, value: number, alpha: number, first: boolean): Ewma {
  if (first) return { mean: value, variance: 0 };
  const diff = value - previous.mean;
  const increment = alpha * diff;
  return { mean: previous.mean + increment, variance: (1 - alpha) * (previous.variance + diff * increment) };
}

function rateOf(bucket: ChatBucket, viewers: number | undefined): { rate: number; perViewer: boolean; scale: number } {
  if (viewers !== undefined && viewers > 0)
    return { rate: (bucket.messages * 100) / viewers, perViewer: true, scale: 100 / viewers };
  return { rate: bucket.messages, perViewer: false, scale: 1 };
}

export function scoreBucket(
  baseline: StreamBaseline,
  bucket: ChatBucket,
  viewers: number | undefined,
  settings: DetectorSettings,
): BucketScore {
  const { rate, scale } = rateOf(bucket, viewers);
  const hypeShare = bucket.messages > 0 ? bucket.hypeMessages / bucket.messages : 0;
  const poissonStd = Math.sqrt(Math.max(baseline.messages.mean, 1)) * scale;
  const std = Math.max(Math.sqrt(baseline.rate.variance), poissonStd);
  const z = (rate - baseline.rate.mean) / std;
  const score = z + settings.hypeWeight * Math.max(0, hypeShare - baseline.hypeShare.mean);
  const warm = baseline.samples >= settings.warmupBuckets;
  const chatSpike =
    warm &&
    score >= settings.zThreshold &&
    rate >= settings.minRateRatio * baseline.rate.mean &&
    bucket.messages >= settings.minMessages &&
    bucket.uniqueChatters >= settings.minUniqueChatters;
  const result: BucketScore = { rate, z, hypeShare, score, chatSpike, viewerSurge: false };
  if (viewers !== undefined && baseline.viewers && baseline.viewers.mean > 0) {
    const viewersMean = baseline.viewers.mean;
    result.viewerGrowth = viewers / viewersMean - 1;
    result.viewerZ = (viewers - viewersMean) / Math.max(Math.sqrt(baseline.viewers.variance), Math.sqrt(viewersMean));
    result.viewerSurge =
      warm && result.viewerGrowth >= settings.viewerSurgeRatio && viewers - viewersMean >= settings.minSurgeViewers;
  }
  return result;
}

/**
 * The baseline in the units of a bucket normalised by `viewers`. When viewer counts first arrive
 * (they lag chat by the analytics pipeline), the raw baseline is carried over as if the audience
 * had been this size all along, rather than restarted: a restart would blind the stream for the
 * whole warm-up. The EWMA corrects the guess within its half-life.
 */
export function baselineInUnitsOf(baseline: StreamBaseline, viewers: number | undefined): StreamBaseline {
  const perViewer = viewers !== undefined && viewers > 0;
  if (perViewer === baseline.perViewer) return baseline;
  if (!perViewer || baseline.samples === 0) return emptyBaseline(perViewer);
  const scale = 100 / viewers;
  return {
    ...baseline,
    perViewer,
    rate: { mean: baseline.rate.mean * scale, variance: baseline.rate.variance * scale * scale },
  };
}

export function updateBaseline(
  baseline: StreamBaseline,
  bucket: ChatBucket,
  viewers: number | undefined,
  alpha: number,
): StreamBaseline {
  const { rate, perViewer } = rateOf(bucket, viewers);
  const base = baselineInUnitsOf(baseline, viewers);
  const first = base.samples === 0;
  const next: StreamBaseline = {
    samples: base.samples + 1,
    perViewer,
    rate: ewma(base.rate, rate, alpha, first),
    messages: ewma(base.messages, bucket.messages, alpha, first),
    hypeShare: ewma(base.hypeShare, bucket.messages > 0 ? bucket.hypeMessages / bucket.messages : 0, alpha, first),
  };
  if (viewers !== undefined)
    next.viewers = ewma(base.viewers ?? { mean: viewers, variance: 0 }, viewers, alpha, base.viewers === undefined);
  return next;
}

export interface Detection {
  onsetMs: number;
  score: BucketScore;
  bucket: ChatBucket;
  /** The baseline the bucket was scored against. */
  baseline: StreamBaseline;
  viewers?: number;
}

export interface DetectionStep {
  state: DetectorState;
  score: BucketScore;
  detection?: Detection;
}

/**
 * The audience to normalise a bucket by: its own count, else the last one known. A count of
 * zero (every view paused or ended) is no audience to divide by, and flipping to raw counts for
 * it would restart the baseline.
 */
function audienceOf(state: DetectorState, bucket: ChatBucket): number | undefined {
  return bucket.viewers !== undefined && bucket.viewers > 0 ? bucket.viewers : state.lastViewers;
}

/** Scores one closed bucket, decides, and folds it into the baseline. */
export function detectInBucket(state: DetectorState, bucket: ChatBucket, settings: DetectorSettings): DetectionStep {
  const viewers = audienceOf(state, bucket);
  const baseline = baselineInUnitsOf(state.baseline, viewers);
  const score = scoreBucket(baseline, bucket, viewers, settings);
  const inCooldown = state.lastOnsetMs !== undefined && bucket.startMs < state.lastOnsetMs + settings.cooldownMs;
  const fires = !inCooldown && (score.chatSpike || score.viewerSurge);
  const next: DetectorState = {
    baseline: fires ? baseline : updateBaseline(baseline, bucket, viewers, settings.alpha),
  };
  // A surge (a raid) sets a new audience level: measured against the old one it would fire again after every cooldown.
  if (fires && score.viewerSurge && viewers !== undefined)
    next.baseline = { ...next.baseline, viewers: { mean: viewers, variance: 0 } };
  if (viewers !== undefined) next.lastViewers = viewers;
  const lastOnsetMs = fires ? bucket.startMs : state.lastOnsetMs;
  if (lastOnsetMs !== undefined) next.lastOnsetMs = lastOnsetMs;
  const step: DetectionStep = { state: next, score };
  if (fires) {
    step.detection = { onsetMs: bucket.startMs, score, bucket, baseline };
    if (viewers !== undefined) step.detection.viewers = viewers;
  }
  return step;
}

/** The clip window of a detection: pre-roll before the onset (chat reacts late), post-roll after, capped. */
export function highlightWindow(
  onsetMs: number,
  settings: Pick<DetectorSettings, 'preRollMs' | 'postRollMs' | 'maxClipMs'>,
): { start: number; end: number } {
  const end = onsetMs + settings.postRollMs;
  const start = Math.max(onsetMs - settings.preRollMs, end - settings.maxClipMs);
  return { start, end };
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

export function detectionReasons(detection: Detection, settings: DetectorSettings): string[] {
  const { score, bucket, baseline } = detection;
  const reasons: string[] = [];
  if (score.chatSpike) {
    const ratio = baseline.rate.mean > 0 ? `${(score.rate / baseline.rate.mean).toFixed(1)}× baseline` : 'from silence';
    reasons.push(
      `chat_spike: z=${score.z.toFixed(1)}, ${bucket.messages} messages in ${settings.bucketMs / 1000} s (${ratio}${baseline.perViewer ? ', per viewer' : ''})`,
    );
    reasons.push(`unique_chatters: ${bucket.uniqueChatters}`);
    if (score.hypeShare > baseline.hypeShare.mean)
      reasons.push(`hype: ${percent(score.hypeShare)} of messages (baseline ${percent(baseline.hypeShare.mean)})`);
  }
  if (score.viewerSurge && score.viewerGrowth !== undefined) {
    reasons.push(
      `viewer_surge: ${detection.viewers} viewers, +${percent(score.viewerGrowth)} on baseline ${Math.round(baseline.viewers!.mean)}`,
    );
  }
  return reasons.map((r) => r.slice(0, 128));
}

export function highlightFromDetection(
  streamId: string,
  detection: Detection,
  settings: DetectorSettings,
  detectedAt: number,
): Highlight {
  const { start, end } = highlightWindow(detection.onsetMs, settings);
  const score = Math.max(
    detection.score.chatSpike ? detection.score.score : 0,
    detection.score.viewerSurge ? (detection.score.viewerZ ?? 0) : 0,
  );
  return {
    schema_v: 1,
    highlight_id: highlightId(streamId, start, end),
    stream_id: streamId,
    start,
    end,
    score: Math.round(Math.max(0, score) * 100) / 100,
    reasons: detectionReasons(detection, settings),
    detected_at: detectedAt,
  };
}
