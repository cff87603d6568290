/**
 * bench:moderation — the inline path (`ChatModerator.moderate`, everything the gateway runs per
 * message: folding, offensive language, targeted-harm and context rules, the local hate
 * classifier, spam signals, channel terms, the policy) on one core, in messages per second and
 * per-message latency. Target: 20,000 messages/s per core. Beside it, the classifier's own cost
 * (folding + features + scoring) and the rules without the classifier. Then the encoder layer the
 * moderation processor runs (not inline: milliseconds a message): sentence embedding on
 * onnxruntime with one thread, head, n-gram stacking and context, one message at a time.
 * "Per core" is measured in CPU time of this single-threaded process (process.cpuUsage), which
 * stays meaningful on a shared, busy machine; wall-clock throughput is reported beside it.
 *
 * Corpora are the third-party texts of eval:moderation: YouTube comments (about half spam, a
 * realistic chat mix) and Davidson et al.'s tweets (77% offensive: the worst case, where nearly
 * every message goes through the full obscenity matcher). Baseline, same run and corpus:
 * obscenity's RegExpMatcher alone with its recommended English setup, the library check most
 * chat filters stop at.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { defaultChannelSettings } from '../core/moderation/channel-settings.ts';
import { EncoderHateClassifier } from '../core/moderation/classifier/encoder-classifier.ts';
import { committedHateClassifier } from '../core/moderation/classifier/hate-classifier.ts';
import { ChatModerator, compileChannelRules } from '../core/moderation/moderate-message.ts';
import { foldForMatching } from '../core/moderation/text-folding.ts';
import type { ChannelTerm } from '../core/moderation/term-rules.ts';
import { davidsonHateOffensive, youtubeSpam } from '../eval/labeled-datasets.ts';
import { percentile, recordBenchmark, round } from './harness.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const dataDir = resolve(repoRoot, process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data');
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 4_000);

interface Figures {
  /** Messages per second of this thread's CPU time. */
  perCore: number;
  /** Messages per second of wall-clock time (lower when other processes share the cores). */
  wall: number;
  p50Us: number;
  p99Us: number;
}

/** The encoder layer, message by message over the corpus, as `measure` does for the inline path. */
async function measureEncoder(encoder: EncoderHateClassifier, texts: string[]): Promise<Figures> {
  for (const text of texts.slice(0, 50)) await encoder.score([text]);
  const samples: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; performance.now() - started < MEASURE_MS * 2; i++) {
    const t0 = performance.now();
    await encoder.score([texts[i % texts.length]!]);
    samples.push(performance.now() - t0);
  }
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  samples.sort((a, b) => a - b);
  return {
    perCore: samples.length / ((user + system) / 1e6),
    wall: samples.length / (wallMs / 1_000),
    p50Us: percentile(samples, 50) * 1_000,
    p99Us: percentile(samples, 99) * 1_000,
  };
}

/** Warms up, then runs passes over the corpus for MEASURE_MS; a second pass times every call. */
function measure(texts: string[], run: (text: string) => unknown): Figures {
  for (let pass = 0; pass < 3; pass++) for (const text of texts) run(text);
  let count = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS) {
    for (const text of texts) run(text);
    count += texts.length;
  }
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const samples = texts.map((text) => {
    const t0 = performance.now();
    run(text);
    return performance.now() - t0;
  });
  samples.sort((a, b) => a - b);
  return {
    perCore: count / ((user + system) / 1e6),
    wall: count / (wallMs / 1_000),
    p50Us: percentile(samples, 50) * 1_000,
    p99Us: percentile(samples, 99) * 1_000,
  };
}

async function main(): Promise<void> {
  const [youtube, davidson] = await Promise.all([youtubeSpam(dataDir), davidsonHateOffensive(dataDir)]);
  const now = Date.now();
  // A channel as configured in practice: default policy plus a handful of blocked terms and a regex.
  const terms: ChannelTerm[] = ['spoiler*', 'free followers', 'crack*', '*coin', '~/\\bt\\.me\\//'].map((text, i) => ({
    id: `term-${i}`,
    kind: 'blocked',
    text,
    action: 'block',
    created_by: 'bench',
    created_at: now,
  }));
  const rules = compileChannelRules(defaultChannelSettings({ anonymousViewers: true }), terms, now);
  const moderator = new ChatModerator();
  const rulesOnly = new ChatModerator(undefined, null);
  const classifier = committedHateClassifier();
  const obscenity = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });

  const comments = youtube.map((item) => item.text);
  const tweets = davidson.map((item) => item.text);
  const ours = measure(comments, (text) => moderator.moderate(text, rules));
  const oursWorst = measure(tweets, (text) => moderator.moderate(text, rules));
  const withoutClassifier = measure(comments, (text) => rulesOnly.moderate(text, rules));
  const classifierAlone = measure(comments, (text) => classifier.flags(foldForMatching(text)));
  const classifierAloneWorst = measure(tweets, (text) => classifier.flags(foldForMatching(text)));
  const baseline = measure(comments, (text) => obscenity.hasMatch(text));
  const baselineWorst = measure(tweets, (text) => obscenity.hasMatch(text));
  const encoder = await EncoderHateClassifier.load({ threads: 1 });
  const encoderComments = await measureEncoder(encoder, comments);
  const encoderTweets = await measureEncoder(encoder, tweets);
  await encoder.close();

  await recordBenchmark({
    name: 'moderation inline path with classifier (1 core)',
    command: 'npm run bench:moderation',
    measured: {
      youtube_msgs_per_core_s: round(ours.perCore),
      youtube_msgs_per_wall_s: round(ours.wall),
      youtube_p50_us: round(ours.p50Us),
      youtube_p99_us: round(ours.p99Us),
      davidson_msgs_per_core_s: round(oursWorst.perCore),
      davidson_p50_us: round(oursWorst.p50Us),
      davidson_p99_us: round(oursWorst.p99Us),
      rules_without_classifier_youtube_msgs_per_core_s: round(withoutClassifier.perCore),
      classifier_youtube_msgs_per_core_s: round(classifierAlone.perCore),
      classifier_youtube_p99_us: round(classifierAlone.p99Us),
      classifier_davidson_msgs_per_core_s: round(classifierAloneWorst.perCore),
      classifier_davidson_p99_us: round(classifierAloneWorst.p99Us),
      encoder_youtube_msgs_per_core_s: round(encoderComments.perCore),
      encoder_youtube_p50_ms: round(encoderComments.p50Us / 1_000),
      encoder_youtube_p99_ms: round(encoderComments.p99Us / 1_000),
      encoder_davidson_msgs_per_core_s: round(encoderTweets.perCore),
      encoder_davidson_p99_ms: round(encoderTweets.p99Us / 1_000),
    },
    baseline: {
      obscenity_only_youtube_msgs_per_core_s: round(baseline.perCore),
      obscenity_only_davidson_msgs_per_core_s: round(baselineWorst.perCore),
    },
    ratio: {
      youtube_vs_obscenity_only: round(ours.perCore / baseline.perCore),
      davidson_vs_obscenity_only: round(oursWorst.perCore / baselineWorst.perCore),
    },
    notes: `target >= 20000 msgs/s per core (inline path); encoder: moderation processor, 1 onnxruntime thread; corpora: ${comments.length} YouTube comments, ${tweets.length} tweets`,
  });
}

await main();
