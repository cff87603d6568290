import { applyPolicyPatch, defaultChannelSettings } from '../core/moderation/channel-settings.ts';
import { EncoderHateClassifier } from '../core/moderation/classifier/encoder-classifier.ts';
import { committedHateClassifier } from '../core/moderation/classifier/hate-classifier.ts';
import { aiCanClear } from '../core/moderation/findings.ts';
import { ChatModerator, compileChannelRules, type ModerationOutcome } from '../core/moderation/moderate-message.ts';
import { decide } from '../core/moderation/policy.ts';
import type { ContentClassifier } from '../core/ai/content-classifier.ts';
import { encoderAction } from '../stream-processors/moderation/encoder-moderation-processor.ts';
import { embedTexts } from '../training/encoder-embeddings.ts';

/**
 * Each moderation layer's verdict on labelled texts, alone and combined, and the figures that
 * eval:moderation reports: recall on the positive (hateful) rows, false-positive rate on the
 * negative ones, precision, overall and per category. "Flagged" is a hate verdict: held or
 * blocked at the default policy by a finding in the hate sense (`HATE_VERDICT_RULES`). A message
 * the channel's sexual-content, profanity, insult or spam filters hold is held in chat all the
 * same, but that is the channel's content filter, not a verdict that the message is hateful.
 */

export const LOCAL_LAYERS = ['rules', 'classifier', 'local', 'encoder', 'local+encoder'] as const;
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

/** The default channel policy with the spam filters off: the policy every layer is measured at. */
export const EVALUATED_RULES = (() => {
  const settings = defaultChannelSettings({ anonymousViewers: true });
  return compileChannelRules(
    { ...settings, policy: applyPolicyPatch(settings.policy, { levels: { spam: 0 } }) },
    [],
    0,
  );
})();

/**
 * The findings that say a message is hateful: any identity finding (slurs, dehumanisation,
 * derogation, the classifier) and threats or death wishes, against a group or a person. Not
 * sexual words, swearing, personal insults ("you idiot"), a violent word on its own ("rape" in a
 * news post) or spam: a channel filters those, but they are no verdict of hate.
 */
export const HATE_VERDICT_RULES = /^(?:identity\.|aggression\.(?:threat|targeted_threat|death_wish|self_harm)$)/;

/** The outcome as a hate verdict: the policy's decision on the hate findings alone. */
export function hateVerdict(outcome: ModerationOutcome): ModerationOutcome {
  const { decision, deciding } = decide(
    outcome.findings.filter((f) => HATE_VERDICT_RULES.test(f.rule)),
    EVALUATED_RULES.levels,
  );
  return { ...outcome, decision, deciding };
}

type LocalLayer = (typeof LOCAL_LAYERS)[number];

/** The inline layers' hate verdicts on every row: the rules alone, the n-gram classifier alone, and both as the gateway runs them. */
export function inlineFlags(rows: readonly EvaluatedRow[]): {
  flags: Record<'rules' | 'classifier' | 'local', boolean[]>;
  outcomes: ModerationOutcome[];
} {
  const classifier = committedHateClassifier();
  const rulesOnly = new ChatModerator(undefined, null);
  const local = new ChatModerator(undefined, classifier);
  const flags = { rules: [] as boolean[], classifier: [] as boolean[], local: [] as boolean[] };
  const outcomes: ModerationOutcome[] = [];
  for (const row of rows) {
    const outcome = hateVerdict(local.moderate(row.text, EVALUATED_RULES));
    outcomes.push(outcome);
    flags.local.push(outcome.decision !== 'allow');
    flags.rules.push(hateVerdict(rulesOnly.moderate(row.text, EVALUATED_RULES)).decision !== 'allow');
    flags.classifier.push(classifier.flags(outcome.folded));
  }
  return { flags, outcomes };
}

/** The verdict once the encoder layer has acted on the inline one (encoderAction): removed, released, or as it was. */
export function afterEncoder(outcome: ModerationOutcome, encoderFlagged: boolean): boolean {
  const action = encoderAction(
    outcome.decision,
    outcome.findings.map((f) => f.rule),
    encoderFlagged,
  );
  return action === 'remove' ? true : action === 'release' ? false : outcome.decision !== 'allow';
}

/**
 * Every local layer's hate verdict on every row: the inline ones, the encoder layer alone (its
 * stacked score, where the context lets a model's finding stand) and the verdict after it, which
 * is what a viewer ends up with when no AI is configured. Embeddings come from the cache
 * (training/encoder-embeddings.ts) where they can.
 */
export async function localFlags(
  rows: readonly EvaluatedRow[],
  encoder?: EncoderHateClassifier,
): Promise<{ flags: Record<LocalLayer, boolean[]>; outcomes: ModerationOutcome[] }> {
  const { flags, outcomes } = inlineFlags(rows);
  const classifier = encoder ?? (await EncoderHateClassifier.load());
  try {
    const texts = rows.map((r) => r.text);
    const scores = classifier.scoreEmbedded(texts, await embedTexts(classifier.encoder, texts));
    const encoderFlagged = scores.map((s) => s.finding !== null);
    return {
      flags: {
        ...flags,
        encoder: encoderFlagged,
        'local+encoder': outcomes.map((o, i) => afterEncoder(o, encoderFlagged[i]!)),
      },
      outcomes,
    };
  } finally {
    if (!encoder) await classifier.close();
  }
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
  return {
    rows: rows.length,
    positives,
    negatives,
    recall: ratio(tp, positives),
    fpr: ratio(fp, negatives),
    precision: ratio(tp, tp + fp),
  };
}

/** Figures per group of rows (`key` of a row), in first-seen order. */
export function figuresBy(
  rows: readonly EvaluatedRow[],
  flagged: readonly boolean[],
  key: (row: EvaluatedRow) => string,
): Map<string, LayerFigures> {
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const k = key(row);
    const members = groups.get(k) ?? [];
    members.push(i);
    groups.set(k, members);
  });
  return new Map(
    [...groups].map(([k, members]) => [
      k,
      figures(
        members.map((i) => rows[i]!),
        members.map((i) => flagged[i]!),
      ),
    ]),
  );
}
