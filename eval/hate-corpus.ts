import { createHash } from 'node:crypto';
import {
  crowdCounter,
  davidsonHateOffensive,
  edosSexism,
  jigsawIdentityTemplates,
  redditBias,
  youtubeSpam,
  type LabeledText,
} from './labeled-datasets.ts';

/**
 * The labelled data the hate classifier is trained and measured on, every row labelled hateful
 * or not and put in a fixed split. Which class of each set counts as hateful:
 *
 * - Davidson: `hate` only; `offensive` (swearing, insults without a group) and `neither` are not.
 * - EDOS: `sexist`, whatever its category; `not sexist` is not.
 * - CrowdCounter: the hateful or offensive posts; the counterspeech replies, which name the group
 *   and echo the hate to condemn it, are not.
 * - RedditBias: `biased`; `not biased`, including comments that quote or rebut a stereotype, is not.
 * - Jigsaw templates: `toxic` rows, which attach an insult to an identity term; `nontoxic` rows
 *   are identity-neutral mentions ("I am gay", "hug lesbian"). The `you_occupation` template's
 *   toxic rows insult a job, not a group ("You are a disgusting farmer"): not hateful, and what
 *   teaches the model that an insult word alone is not hate. `name_adj` is 94 % of the file and
 *   is subsampled to one row in ten so it does not drown the real data.
 * - YouTube Spam Collection: every comment, spam or not, is non-hateful chat.
 *
 * Splits: 70 % train, 15 % validation (threshold choice), 15 % test (figures), by a seeded hash
 * of the row's group (a CrowdCounter post with all its replies) or else its normalised text, so
 * duplicates never straddle splits and the same seed always gives the same split.
 */

export type Split = 'train' | 'validation' | 'test';

export interface CorpusRow {
  text: string;
  hateful: boolean;
  /** Which set: davidson, edos, crowdcounter, redditbias, jigsaw, youtube. */
  dataset: string;
  /** The set's finer class, for per-category figures. */
  category: string;
  split: Split;
}

export const SPLIT_SEED = 'livepulse-hate-v1';
const JIGSAW_NAME_ADJ_KEPT = 0.1;

/** A number in [0, 1) fixed by the seed and the key. */
export function unitHash(seed: string, key: string): number {
  return createHash('sha256').update(`${seed}\u0000${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

const normalisedKey = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim();

export function splitOf(seed: string, key: string): Split {
  const u = unitHash(seed, key);
  return u < 0.7 ? 'train' : u < 0.85 ? 'validation' : 'test';
}

interface DatasetLabeling {
  dataset: string;
  load: (dataDir: string) => Promise<LabeledText[]>;
  hateful: (row: LabeledText) => boolean;
  category: (row: LabeledText) => string;
  keep?: (row: LabeledText, seed: string) => boolean;
}

export const HATE_DATASETS: readonly DatasetLabeling[] = [
  { dataset: 'davidson', load: davidsonHateOffensive, hateful: (r) => r.label === 'hate', category: (r) => r.label },
  { dataset: 'edos', load: edosSexism, hateful: (r) => r.label === 'sexist', category: (r) => r.category! },
  {
    dataset: 'crowdcounter',
    load: crowdCounter,
    hateful: (r) => r.label === 'hateful_or_offensive',
    category: (r) => r.category!,
  },
  { dataset: 'redditbias', load: redditBias, hateful: (r) => r.label === 'biased', category: (r) => r.category! },
  {
    dataset: 'jigsaw',
    load: jigsawIdentityTemplates,
    hateful: (r) => r.label === 'toxic' && r.category !== 'you_occupation',
    category: (r) =>
      `${r.category} ${r.label !== 'toxic' ? 'identity-neutral' : r.category === 'you_occupation' ? 'insult, no group' : 'toxic'}`,
    keep: (r, seed) => r.category !== 'name_adj' || unitHash(`${seed}/jigsaw`, r.text) < JIGSAW_NAME_ADJ_KEPT,
  },
  { dataset: 'youtube', load: youtubeSpam, hateful: () => false, category: (r) => r.label },
];

export async function loadHateCorpus(dataDir: string, seed = SPLIT_SEED): Promise<CorpusRow[]> {
  const rows: CorpusRow[] = [];
  for (const labeling of HATE_DATASETS) {
    for (const row of await labeling.load(dataDir)) {
      if (row.text.trim() === '' || (labeling.keep && !labeling.keep(row, seed))) continue;
      rows.push({
        text: row.text,
        hateful: labeling.hateful(row),
        dataset: labeling.dataset,
        category: labeling.category(row),
        split: splitOf(seed, row.group ?? normalisedKey(row.text)),
      });
    }
  }
  return rows;
}
