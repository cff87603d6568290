import { applyPolicyPatch, defaultChannelSettings } from '../core/moderation/channel-settings.ts';
import { committedHateClassifier } from '../core/moderation/classifier/hate-classifier.ts';
import { aiCanClear } from '../core/moderation/findings.ts';
import { ChatModerator, compileChannelRules, type ModerationOutcome } from '../core/moderation/moderate-message.ts';
import type { ContentClassifier } from '../stream-processors/moderation/content-classifier.ts';

/**
 * Each moderation layer's verdict on labelled texts, alone and combined, and the figures that
 * eval:moderation reports: recall on the positive (hateful) rows, false-positive rate on the
 * negative ones, precision, overall and per category. "Flagged" is anything a viewer would not
 * see at once (held or blocked) at the default policy with the spam filters off: spam is not hate.
 */

export const LOCAL_LAYERS = ['rules', 'classifier', 'local'] as const;
export type Layer = (typeof LOCAL_LAYERS)[number] | 'ai' | 'local+ai';

export interface EvaluatedRow {
  text: string;
  positive: boolean;
  /** Where the row comes from and its finer class: "edos/derogation", "crowdcounter/counterspeech: humour". */
  category: string;
}

export interface LayerFigures {
  rows: number;
  positives: number;
  negatives: number;
  recall: number;
  fpr: number;
  precision: number;
}

const HATE_RULES = (() => {
  const settings = defaultChannelSettings({ anonymousViewers: true });
  return compileChannelRules({ ...settings, policy: applyPolicyPatch(settings.policy, { levels: { spam: 0 } }) }, [], 0);
})();

const rulesOnly = new ChatModerator(undefined, null);
const local = new ChatModerator();

/** The three local layers' flags on every row: the rules alone, the classifier alone, and both as the gateway runs them. */
export function localFlags(rows: readonly EvaluatedRow[]): { flags: Record<(typeof LOCAL_LAYERS)[number], boolean[]>; outcomes: ModerationOutcome[] } {
  const classifier = committedHateClassifier();
  const flags = { rules: [] as boolean[], classifier: [] as boolean[], local: [] as boolean[] };
  const outcomes: ModerationOutcome[] = [];
  for (const row of rows) {
    const outcome = local.moderate(row.text, HATE_RULES);
    outcomes.push(outcome);
    flags.local.push(outcome.decision !== 'allow');
    flags.rules.push(rulesOnly.moderate(row.text, HATE_RULES).decision !== 'allow');
    flags.classifier.push(classifier.flags(outcome.folded));
  }
  return { flags, outcomes };
}

/**
 * The deployed combination, local then AI (docs/moderation.md): a blocked message stays blocked; a
 * held one is denied when the AI flags it, and released when it does not and every rule that held
 * it is one the AI judges; a delivered one the AI flags is removed.
 */
export function combinedWithAi(outcome: ModerationOutcome, aiFlagged: boolean): boolean {
  if (outcome.decision === 'block') return true;
  if (outcome.decision === 'hold') return aiFlagged || !aiCanClear(outcome.deciding.map((f) => f.rule));
  return aiFlagged;
}

export async function aiFlags(classifier: ContentClassifier, texts: readonly string[], batch = 32): Promise<boolean[]> {
  const flags: boolean[] = [];
  for (let start = 0; start < texts.length; start += batch) {
    for (const result of await classifier.classify(texts.slice(start, start + batch))) flags.push(result.flagged);
  }
  return flags;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 10_000) / 10_000);

export function figures(rows: readonly EvaluatedRow[], flagged: readonly boolean[]): LayerFigures {
  let tp = 0;
  let fp = 0;
  let positives = 0;
  rows.forEach((row, i) => {
    if (row.positive) positives++;
    if (flagged[i] && row.positive) tp++;
    if (flagged[i] && !row.positive) fp++;
  });
  const negatives = rows.length - positives;
  return { rows: rows.length, positives, negatives, recall: ratio(tp, positives), fpr: ratio(fp, negatives), precision: ratio(tp, tp + fp) };
}

/** Figures per group of rows (`key` of a row), in first-seen order. */
export function figuresBy(rows: readonly EvaluatedRow[], flagged: readonly boolean[], key: (row: EvaluatedRow) => string): Map<string, LayerFigures> {
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const k = key(row);
    const members = groups.get(k) ?? [];
    members.push(i);
    groups.set(k, members);
  });
  return new Map([...groups].map(([k, members]) => [k, figures(members.map((i) => rows[i]!), members.map((i) => flagged[i]!))]));
}
