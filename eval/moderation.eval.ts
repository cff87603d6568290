/**
 * eval:moderation — how well each moderation layer catches hate, alone and combined: the rules
 * (word lists, phrases, context rules), the n-gram classifier, the two together as the gateway runs
 * them inline, the sentence-encoder layer (stacked with the n-gram score) alone and after the
 * inline verdict as the moderation processor applies it, and with --backend an AI endpoint and the
 * deployed inline + AI combination. Recall on the
 * hateful rows, false-positive rate on the rest, precision; per dataset and per category.
 *
 *   npm run eval:moderation
 *       the held-out test split of every labelled set in ../shared/data (eval/hate-corpus.ts: rows
 *       the classifier was never trained on), plus the spam filters on the YouTube Spam Collection
 *   npm run eval:moderation -- --data FILE.csv --text-column text --label-column label --positive-label hateful [--category-column c]
 *       any labelled CSV, every row
 *   --backend openai|chat   also measure the configured AI (OPENAI_API_KEY, OPENAI_BASE_URL;
 *       `openai`: /moderations, `chat`: a guard model over chat completions, MODERATION_AI_GUARD_MODEL)
 *       on a seeded sample of --ai-sample rows (default 300)
 *
 * The last line of output is JSON: rows evaluated and recall, false-positive rate and precision
 * per layer and for the combined local verdict.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OpenAI } from 'openai';
import { loadConfig } from '../core/config.ts';
import { applyPolicyPatch, defaultChannelSettings } from '../core/moderation/channel-settings.ts';
import { seededRandom, shuffled } from '../core/moderation/classifier/logistic-regression.ts';
import { ChatModerator, compileChannelRules } from '../core/moderation/moderate-message.ts';
import type { ContentClassifier } from '../core/ai/content-classifier.ts';
import { GuardChatClassifier } from '../core/ai/guard-chat-classifier.ts';
import { OpenAiModerationClassifier } from '../core/ai/openai-moderation-classifier.ts';
import { loadHateCorpus } from './hate-corpus.ts';
import { labeledCsv, youtubeSpam } from './labeled-datasets.ts';
import {
  aiFlags,
  combinedWithAi,
  figures,
  figuresBy,
  localFlags,
  LOCAL_LAYERS,
  type EvaluatedRow,
  type Layer,
  type LayerFigures,
} from './moderation-layers.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
const LAYER_NAMES: Record<Layer, string> = {
  rules: 'rules',
  classifier: 'n-gram classifier',
  local: 'rules + n-gram (inline)',
  encoder: 'encoder (stacked)',
  'local+encoder': 'rules + n-gram + encoder',
  ai: 'AI',
  'local+ai': 'local + AI',
};

export interface EvaluationReport {
  lines: string[];
  summary: Record<string, unknown>;
}

const brief = (f: LayerFigures) => ({ recall: f.recall, fpr: f.fpr, precision: f.precision });

/** Every layer on `rows`, with the AI on a seeded sample when a classifier is given. */
export async function evaluate(
  rows: readonly EvaluatedRow[],
  options: { ai?: ContentClassifier; aiSample?: number; title: string },
): Promise<EvaluationReport> {
  const { flags, outcomes } = await localFlags(rows);
  const lines: string[] = [
    `## ${options.title} (${rows.length} rows, ${rows.filter((r) => r.positive).length} hateful)`,
    '',
  ];
  const dataset = (r: EvaluatedRow) => r.category.split('/')[0]!;
  const layers: Record<string, ReturnType<typeof brief>> = {};
  const byDataset = LOCAL_LAYERS.map((layer) => figuresBy(rows, flags[layer], dataset));

  lines.push(
    row([
      'set',
      'rows',
      'hateful',
      ...LOCAL_LAYERS.flatMap((l) => [`${LAYER_NAMES[l]} recall`, `${LAYER_NAMES[l]} FP`]),
    ]),
    row(Array<string>(3 + 2 * LOCAL_LAYERS.length).fill('---')),
  );
  for (const name of byDataset[0]!.keys()) {
    const first = byDataset[0]!.get(name)!;
    lines.push(
      row([
        name,
        first.rows,
        first.positives,
        ...byDataset.flatMap((m) => [pct(m.get(name)!.recall), pct(m.get(name)!.fpr)]),
      ]),
    );
  }
  const overall = LOCAL_LAYERS.map((layer) => figures(rows, flags[layer]));
  lines.push(
    row(['**all**', rows.length, overall[0]!.positives, ...overall.flatMap((f) => [pct(f.recall), pct(f.fpr)])]),
  );
  LOCAL_LAYERS.forEach((layer, i) => (layers[layer] = brief(overall[i]!)));

  // Per category: the share flagged (recall for hateful categories, false positives for the rest).
  lines.push(
    '',
    row(['category', 'rows', 'hateful?', ...LOCAL_LAYERS.map((l) => `${LAYER_NAMES[l]} flagged`)]),
    row(Array<string>(3 + LOCAL_LAYERS.length).fill('---')),
  );
  const byCategory = LOCAL_LAYERS.map((layer) =>
    figuresBy(rows, flags[layer], (r) => `${r.category}${r.positive ? '' : ' '}`),
  );
  for (const key of [...byCategory[0]!.keys()].sort()) {
    const first = byCategory[0]!.get(key)!;
    const flaggedShare = (f: LayerFigures) => (first.positives > 0 ? f.recall : f.fpr);
    lines.push(
      row([
        key.trim(),
        first.rows,
        first.positives > 0 ? 'yes' : 'no',
        ...byCategory.map((m) => pct(flaggedShare(m.get(key)!))),
      ]),
    );
  }

  // The false-positive traps the issue names, each as one figure for the combined local verdict.
  const share = (match: (r: EvaluatedRow) => boolean) => {
    const picked = rows.flatMap((r, i) => (match(r) && !r.positive ? [i] : []));
    return picked.length === 0
      ? null
      : figures(
          picked.map((i) => rows[i]!),
          picked.map((i) => flags['local+encoder'][i]!),
        ).fpr;
  };
  const traps = {
    counter_speech_flagged: share((r) => r.category.includes('counterspeech')),
    identity_neutral_flagged: share((r) => r.category.includes('identity-neutral')),
    quoting_or_rebuttal_flagged: share((r) => r.category.includes('quoting or rebuttal')),
  };
  const trapLines = Object.entries(traps).flatMap(([k, v]) =>
    v === null ? [] : [`${k.replace(/_/g, ' ')}: ${pct(v)}`],
  );
  if (trapLines.length > 0)
    lines.push('', `Combined local verdict (rules + n-gram + encoder) — ${trapLines.join(' · ')}`);

  const summary: Record<string, unknown> = {
    rows: rows.length,
    layers,
    datasets: Object.fromEntries(
      [...byDataset[LOCAL_LAYERS.indexOf('local+encoder')]!].map(([name, f]) => [name, { rows: f.rows, ...brief(f) }]),
    ),
    ...traps,
  };

  if (options.ai) {
    const sample = shuffled(
      rows.map((_, i) => i),
      seededRandom(42),
    ).slice(0, options.aiSample ?? 300);
    const sampled = sample.map((i) => rows[i]!);
    const ai = await aiFlags(
      options.ai,
      sampled.map((r) => r.text),
    );
    const withAi = sample.map((i, j) => combinedWithAi(outcomes[i]!, ai[j]!));
    const sampleFigures: Array<[Layer, LayerFigures]> = [
      ...LOCAL_LAYERS.map((layer): [Layer, LayerFigures] => [
        layer,
        figures(
          sampled,
          sample.map((i) => flags[layer][i]!),
        ),
      ]),
      ['ai', figures(sampled, ai)],
      ['local+ai', figures(sampled, withAi)],
    ];
    // The model is known only after the first call: the auto backend may have fallen back to the guard model.
    lines.push(
      '',
      `### With the AI (${options.ai.kind}: ${options.ai.model}), seeded sample of ${sampled.length} rows`,
      '',
    );
    lines.push(row(['layer', 'recall', 'false-positive rate', 'precision']), row(['---', '---', '---', '---']));
    for (const [layer, f] of sampleFigures)
      lines.push(row([LAYER_NAMES[layer], pct(f.recall), pct(f.fpr), pct(f.precision)]));
    summary.ai_sample = {
      rows: sampled.length,
      model: options.ai.model,
      kind: options.ai.kind,
      layers: Object.fromEntries(sampleFigures.map(([l, f]) => [l, brief(f)])),
    };
  }
  return { lines, summary };
}

/** The spam filters (rules only) at each spam level on the YouTube Spam Collection. */
async function spamTable(dataDir: string): Promise<{ lines: string[]; summary: Record<string, unknown> }> {
  const youtube = await youtubeSpam(dataDir);
  const moderator = new ChatModerator(undefined, null);
  const rows: EvaluatedRow[] = youtube.map((item) => ({
    text: item.text,
    positive: item.label === 'spam',
    category: `youtube/${item.label}`,
  }));
  const lines = [
    `## Spam filters — YouTube Spam Collection (${rows.length} comments, ${rows.filter((r) => r.positive).length} spam)`,
    '',
  ];
  lines.push(row(['spam level', 'precision', 'recall', 'false-positive rate']), row(['---', '---', '---', '---']));
  const summary: Record<string, unknown> = {};
  for (const level of [1, 2, 3, 4]) {
    const settings = defaultChannelSettings({ anonymousViewers: true });
    const rules = compileChannelRules(
      { ...settings, policy: applyPolicyPatch(settings.policy, { levels: { spam: level } }) },
      [],
      0,
    );
    const f = figures(
      rows,
      rows.map((r) => moderator.moderate(r.text, rules).decision !== 'allow'),
    );
    lines.push(row([level === 2 ? '2 (default)' : level, pct(f.precision), pct(f.recall), pct(f.fpr)]));
    summary[`spam_level_${level}`] = brief(f);
  }
  return { lines, summary };
}

function aiFromConfig(backend: string | undefined): ContentClassifier | undefined {
  if (backend === undefined) return undefined;
  if (backend !== 'openai' && backend !== 'chat')
    throw new Error(`--backend must be openai or chat, got ${JSON.stringify(backend)}`);
  const config = loadConfig();
  if (config.ai.kind !== 'openai')
    throw new Error('--backend needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local or compatible server)');
  const tuning = config.moderation.ai;
  const client = new OpenAI({
    apiKey: config.ai.apiKey,
    baseURL: config.ai.baseURL,
    timeout: tuning.timeoutMs,
    maxRetries: tuning.maxRetries,
  });
  return backend === 'openai'
    ? new OpenAiModerationClassifier(client, config.ai.moderationModel)
    : new GuardChatClassifier(client, tuning.guardModel, tuning.concurrency);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      'text-column': { type: 'string' },
      'label-column': { type: 'string' },
      'positive-label': { type: 'string' },
      'category-column': { type: 'string' },
      backend: { type: 'string' },
      'ai-sample': { type: 'string', default: process.env.EVAL_AI_SAMPLE ?? '300' },
    },
  });
  const ai = aiFromConfig(values.backend);
  const aiSample = Number(values['ai-sample']);
  if (!Number.isInteger(aiSample) || aiSample < 1)
    throw new Error(`--ai-sample must be a positive integer, got ${values['ai-sample']}`);
  const out: string[] = [`# Moderation evaluation (${new Date().toISOString().slice(0, 10)})`, ''];
  let summary: Record<string, unknown>;

  if (values.data) {
    const missing = (['text-column', 'label-column', 'positive-label'] as const).filter((k) => values[k] === undefined);
    if (missing.length > 0) throw new Error(`--data needs ${missing.map((k) => `--${k}`).join(', ')}`);
    const rows = labeledCsv(await readFile(values.data, 'utf8'), {
      textColumn: values['text-column']!,
      labelColumn: values['label-column']!,
      positiveLabel: values['positive-label']!,
      ...(values['category-column'] !== undefined && { categoryColumn: values['category-column'] }),
    });
    const report = await evaluate(rows, { ...(ai && { ai }), aiSample, title: values.data });
    out.push(...report.lines);
    summary = { data: values.data, ...report.summary };
  } else {
    const dataDir = resolve(repoRoot, process.env.LIVEPULSE_EVAL_DATA ?? '../shared/data');
    const heldOut = (await loadHateCorpus(dataDir)).filter((r) => r.split === 'test');
    const rows = heldOut.map((r) => ({ text: r.text, positive: r.hateful, category: `${r.dataset}/${r.category}` }));
    const report = await evaluate(rows, {
      ...(ai && { ai }),
      aiSample,
      title: 'Hate — held-out test split of every labelled set',
    });
    const spam = await spamTable(dataDir);
    out.push(`data: ${dataDir}`, '', ...report.lines, '', ...spam.lines);
    summary = { data: dataDir, split: 'test', ...report.summary, spam: spam.summary };
  }
  process.stdout.write(`${out.join('\n')}\n\n${JSON.stringify({ name: 'moderation-eval', ...summary })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
