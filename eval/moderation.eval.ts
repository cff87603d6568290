/**
 * eval:moderation — precision, recall and false-positive rate of the inline heuristics (and of
 * heuristics + AI when an OpenAI-compatible endpoint is configured) on third-party labelled data:
 *   - the YouTube Spam Collection (spam vs ham comments), at the default policy and each spam level;
 *   - Davidson et al.'s hate/offensive tweets (hate or offensive vs neither), at each overall level.
 *
 * Data: LIVEPULSE_EVAL_DATA, default ../shared/data relative to the repository. Each file is
 * checked against its pinned sha256 before use. AI: OPENAI_API_KEY (+ OPENAI_BASE_URL), on a
 * seeded sample of EVAL_AI_SAMPLE messages per set (default 300).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenAI } from 'openai';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { applyPolicyPatch, defaultChannelSettings, type ChannelSettings } from '../core/moderation/channel-settings.ts';
import { categoryOfRule } from '../core/moderation/findings.ts';
import { ChatModerator, compileChannelRules, type ChannelRules } from '../core/moderation/moderate-message.ts';
import { AutoClassifier } from '../stream-processors/moderation/auto-classifier.ts';
import type { ContentClassifier } from '../stream-processors/moderation/content-classifier.ts';
import { GuardChatClassifier } from '../stream-processors/moderation/guard-chat-classifier.ts';
import { OpenAiModerationClassifier } from '../stream-processors/moderation/openai-moderation-classifier.ts';
import { davidsonHateOffensive, youtubeSpam, type LabeledText } from './labeled-datasets.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const dataDir = resolve(repoRoot, process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data');
const aiSample = Number(process.env.EVAL_AI_SAMPLE ?? 300);
const moderator = new ChatModerator();
const NOW = Date.now();

interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

interface Scores {
  n: number;
  precision: number;
  recall: number;
  fpr: number;
  f1: number;
}

function scores(c: Confusion): Scores {
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  return {
    n: c.tp + c.fp + c.tn + c.fn,
    precision,
    recall,
    fpr: c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn),
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
  };
}

function confusion(items: LabeledText[], isPositive: (item: LabeledText) => boolean, predicted: (item: LabeledText, index: number) => boolean): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  items.forEach((item, index) => {
    const actual = isPositive(item);
    const guess = predicted(item, index);
    if (actual && guess) c.tp++;
    else if (actual) c.fn++;
    else if (guess) c.fp++;
    else c.tn++;
  });
  return c;
}

function rulesWith(change: (settings: ChannelSettings) => ChannelSettings): ChannelRules {
  return compileChannelRules(change(defaultChannelSettings({ anonymousViewers: true })), [], NOW);
}

/** Flagged = held or blocked (anything a viewer would not see at once). */
const flaggedBy = (rules: ChannelRules) => (item: LabeledText) => moderator.moderate(item.text, rules).decision !== 'allow';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;

/** A deterministic sample (mulberry32), so runs compare. */
function sample<T>(items: T[], size: number, seed = 42): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, size);
}

function classifierFromConfig(): ContentClassifier | null {
  const config = loadConfig();
  if (config.ai.kind !== 'openai') return null;
  const tuning = config.moderation.ai;
  const client = new OpenAI({ apiKey: config.ai.apiKey, baseURL: config.ai.baseURL, timeout: tuning.timeoutMs, maxRetries: tuning.maxRetries });
  const moderations = new OpenAiModerationClassifier(client, config.ai.moderationModel);
  const guard = new GuardChatClassifier(client, tuning.guardModel, tuning.concurrency);
  if (tuning.backend === 'moderations') return moderations;
  if (tuning.backend === 'chat') return guard;
  return new AutoClassifier(moderations, guard, createLogger('warn'));
}

async function aiFlags(classifier: ContentClassifier, texts: string[]): Promise<boolean[]> {
  const flags: boolean[] = [];
  for (let start = 0; start < texts.length; start += 32) {
    for (const result of await classifier.classify(texts.slice(start, start + 32))) flags.push(result.flagged);
  }
  return flags;
}

async function main(): Promise<void> {
  const [youtube, davidson] = await Promise.all([youtubeSpam(dataDir), davidsonHateOffensive(dataDir)]);
  const out: string[] = [`# Moderation evaluation (${new Date().toISOString().slice(0, 10)})`, '', `data: ${dataDir}`, ''];
  const summary: Record<string, unknown> = {};

  // YouTube Spam Collection: the spam filters at each spam level, the rest of the policy at its default.
  const isSpam = (item: LabeledText) => item.label === 'spam';
  out.push(`## YouTube Spam Collection — spam vs ham (${youtube.length} comments, ${youtube.filter(isSpam).length} spam)`, '');
  out.push(row(['spam level', 'precision', 'recall', 'false-positive rate', 'F1']), row(['---', '---', '---', '---', '---']));
  for (const level of [1, 2, 3, 4]) {
    const rules = rulesWith((s) => ({ ...s, policy: applyPolicyPatch(s.policy, { levels: { spam: level } }) }));
    const s = scores(confusion(youtube, isSpam, flaggedBy(rules)));
    out.push(row([level === 2 ? '2 (default)' : level, pct(s.precision), pct(s.recall), pct(s.fpr), pct(s.f1)]));
    summary[`youtube_spam_level_${level}`] = s;
  }
  const cpu = process.cpuUsage();
  const defaultRules = rulesWith((s) => s);
  for (const item of youtube) moderator.moderate(item.text, defaultRules);
  for (const item of davidson) moderator.moderate(item.text, defaultRules);
  const { user, system } = process.cpuUsage(cpu);
  const perMessageUs = (user + system) / (youtube.length + davidson.length);
  out.push('', `Heuristics CPU time over both sets, first pass (no warm-up): ${perMessageUs.toFixed(1)} µs per message (bench:moderation measures warm throughput).`, '');

  // Davidson: the graded content categories at each overall level; spam filters off, since
  // @mentions and t.co links are how tweets look, not chat spam.
  const isOffensive = (item: LabeledText) => item.label !== 'neither';
  out.push(`## Davidson et al. — hate or offensive vs neither (${davidson.length} tweets: ${davidson.filter((d) => d.label === 'hate').length} hate, ${davidson.filter((d) => d.label === 'offensive').length} offensive, ${davidson.filter((d) => d.label === 'neither').length} neither)`, '');
  out.push(row(['overall level', 'precision', 'recall', 'recall on hate', 'recall on offensive', 'false-positive rate (neither)']), row(['---', '---', '---', '---', '---', '---']));
  for (const level of [1, 2, 3, 4]) {
    const rules = rulesWith((s) => ({ ...s, policy: applyPolicyPatch(applyPolicyPatch(s.policy, { overall_level: level }), { levels: { spam: 0 } }) }));
    const predicted = davidson.map((item) => moderator.moderate(item.text, rules).decision !== 'allow');
    const all = scores(confusion(davidson, isOffensive, (_, i) => predicted[i]!));
    const hateRecall = scores(confusion(davidson.filter((d) => d.label !== 'offensive'), (d) => d.label === 'hate', (d) => predicted[davidson.indexOf(d)]!)).recall;
    const offensiveRecall = scores(confusion(davidson.filter((d) => d.label !== 'hate'), (d) => d.label === 'offensive', (d) => predicted[davidson.indexOf(d)]!)).recall;
    out.push(row([level === 2 ? '2 (default)' : level, pct(all.precision), pct(all.recall), pct(hateRecall), pct(offensiveRecall), pct(all.fpr)]));
    summary[`davidson_level_${level}`] = { ...all, recall_hate: hateRecall, recall_offensive: offensiveRecall };
  }
  // Which rules fire on the "neither" class at the default level: where the false positives come from.
  const fpRules = new Map<string, number>();
  for (const item of davidson.filter((d) => d.label === 'neither')) {
    const outcome = moderator.moderate(item.text, rulesWith((s) => ({ ...s, policy: applyPolicyPatch(s.policy, { levels: { spam: 0 } }) })));
    if (outcome.decision !== 'allow') for (const f of outcome.deciding) fpRules.set(`${categoryOfRule(f.rule)}:${f.detail ?? f.rule}`, (fpRules.get(`${categoryOfRule(f.rule)}:${f.detail ?? f.rule}`) ?? 0) + 1);
  }
  out.push('', `False positives on "neither" at the default level, by rule: ${[...fpRules].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([r, n]) => `${r} ${n}`).join(', ')}`, '');

  const classifier = classifierFromConfig();
  if (classifier) {
    const rows: string[] = [];
    for (const [name, items, isPositive, rules] of [
      ['YouTube spam', sample(youtube, aiSample), isSpam, defaultRules],
      ['Davidson', sample(davidson, aiSample), isOffensive, rulesWith((s) => ({ ...s, policy: applyPolicyPatch(s.policy, { levels: { spam: 0 } }) }))],
    ] as const) {
      const heuristic = items.map(flaggedBy(rules));
      const ai = await aiFlags(classifier, items.map((i) => i.text));
      const h = scores(confusion(items, isPositive, (_, i) => heuristic[i]!));
      const both = scores(confusion(items, isPositive, (_, i) => heuristic[i]! || ai[i]!));
      rows.push(row([name, pct(h.precision), pct(h.recall), pct(h.fpr), pct(both.precision), pct(both.recall), pct(both.fpr)]));
      summary[`ai_${name.replace(/\W+/g, '_').toLowerCase()}`] = { model: classifier.model, heuristics: h, heuristics_plus_ai: both };
    }
    // The model is known only after the first call: the auto backend may have fallen back to the guard model.
    out.push(`## Heuristics + AI (${classifier.kind}: ${classifier.model}), seeded samples of ${aiSample}`, '');
    out.push(row(['set', 'heuristics precision', 'heuristics recall', 'heuristics FPR', '+AI precision', '+AI recall', '+AI FPR']), row(['---', '---', '---', '---', '---', '---', '---']), ...rows);
  } else {
    out.push('AI not configured (set OPENAI_API_KEY, and OPENAI_BASE_URL for a local server): heuristics only.');
  }

  process.stdout.write(`${out.join('\n')}\n\n${JSON.stringify({ name: 'moderation-eval', data: dataDir, heuristics_us_per_message: perMessageUs, ...summary })}\n`);
}

await main();
