import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The third-party labelled sets the moderation evaluation runs on, read from the pinned copies in
 * the shared data directory, each verified against its published sha256 first: copies of these
 * sets circulate with injected or relabelled rows, and an evaluation on a tampered file is worse
 * than none.
 */

export interface LabeledText {
  text: string;
  /** What the label says the message is. */
  label: string;
  source: string;
  /** A finer class for per-category figures (EDOS's category, RedditBias's group, a template), where the set has one. */
  category?: string;
  /** Rows that must share a split (a CrowdCounter post and its replies); the text when absent. */
  group?: string;
}

export class DatasetIntegrityError extends Error {
  constructor(file: string, expected: string, actual: string) {
    super(`${file}: sha256 ${actual} does not match the pinned ${expected}; refusing to evaluate on a changed copy`);
    this.name = 'DatasetIntegrityError';
  }
}

/** RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

async function verifiedText(path: string, sha256: string): Promise<string> {
  const bytes = await readFile(path);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new DatasetIntegrityError(path, sha256, actual);
  return bytes.toString('utf8');
}

/** The pinned files of a folder's SHA256SUMS, verified, as text. */
async function verifiedFolder(
  dir: string,
  only?: (file: string) => boolean,
): Promise<Array<{ file: string; text: string }>> {
  const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts): parts is [string, string] => parts.length === 2 && (only?.(parts[1]!) ?? true));
  return Promise.all(sums.map(async ([sha256, file]) => ({ file, text: await verifiedText(join(dir, file), sha256) })));
}

function records(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text).filter((row) => row.length > 1);
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ''])));
}

/** Tweets escape &, < and > as HTML entities; a chat message would carry the characters. */
function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"');
}

/** YouTube Spam Collection: comments labelled `spam` or `ham`, checked against SHA256SUMS. */
export async function youtubeSpam(dataDir: string): Promise<LabeledText[]> {
  const all: LabeledText[] = [];
  for (const { file, text } of await verifiedFolder(join(dataDir, 'youtube-spam'))) {
    for (const record of records(text)) {
      all.push({
        text: record.CONTENT!.replace(/\ufeff/g, '').trim(),
        label: record.CLASS === '1' ? 'spam' : 'ham',
        source: file,
      });
    }
  }
  return all;
}

/** The sha256 SOURCE.md pins for Davidson et al.'s labeled_data.csv. */
const DAVIDSON_SHA256 = 'fcb8bc7c68120ae4af04a5b9acd58585513ede11e1548ebf36a5c2040b6f6281';
const DAVIDSON_CLASSES: Record<string, string> = { '0': 'hate', '1': 'offensive', '2': 'neither' };

/** Davidson et al. (ICWSM 2017): tweets labelled hate, offensive or neither by crowd majority. */
export async function davidsonHateOffensive(dataDir: string): Promise<LabeledText[]> {
  const text = await verifiedText(join(dataDir, 'davidson-hate-offensive', 'labeled_data.csv'), DAVIDSON_SHA256);
  return records(text).map((record) => ({
    text: decodeEntities(record.tweet!),
    label: DAVIDSON_CLASSES[record.class!]!,
    source: 'labeled_data.csv',
  }));
}

/** The records of a folder's one pinned CSV file, with the file's name. */
async function verifiedCsv(dir: string): Promise<{ file: string; rows: Array<Record<string, string>> }> {
  const [csv] = await verifiedFolder(dir, (f) => f.endsWith('.csv'));
  return { file: csv!.file, rows: records(csv!.text) };
}

/** EDOS (SemEval-2023 Task 10): Gab and Reddit posts, `sexist` (with its category) or `not sexist`. */
export async function edosSexism(dataDir: string): Promise<LabeledText[]> {
  const { file, rows } = await verifiedCsv(join(dataDir, 'edos-sexism'));
  return rows.map((record) => ({
    text: record.text!,
    label: record.label_sexist!,
    source: file,
    category: record.label_category === 'none' ? 'not sexist' : record.label_category!.replace(/^\d+\.\s*/, ''),
  }));
}

/** CrowdCounter: hateful or offensive posts, `hateful_or_offensive`, and the crowd's `counterspeech` replies to them. */
export async function crowdCounter(dataDir: string): Promise<LabeledText[]> {
  const { file, rows } = await verifiedCsv(join(dataDir, 'crowdcounter-counterspeech'));
  return rows.map((record) => ({
    text: record.text!,
    label: record.label!,
    source: file,
    category: record.label === 'counterspeech' ? `counterspeech: ${record.counterspeech_type}` : 'hateful post',
    group: `post-${record.post_id}`,
  }));
}

const REDDITBIAS_GROUPS: Record<string, string> = {
  gender_female: 'women',
  orientation_lgbtq: 'lgbtq',
  race_black: 'black',
  religion1_jews: 'jews',
  religion2_muslims: 'muslims',
};

/**
 * RedditBias: comments pairing a group with a negative stereotype, `biased` or `not biased`
 * (annotated `bias_sent`; empty cells, the undocumented `2` and annotators' notes are left out).
 * A not-biased comment whose phrase is biased quotes, denies or rebuts the stereotype: category
 * `<group> quoting or rebuttal`.
 */
export async function redditBias(dataDir: string): Promise<LabeledText[]> {
  const all: LabeledText[] = [];
  for (const { file, text } of await verifiedFolder(join(dataDir, 'redditbias-stereotypes'), (f) =>
    f.endsWith('.csv'),
  )) {
    const group = Object.entries(REDDITBIAS_GROUPS).find(([key]) => file.includes(key))?.[1] ?? file;
    for (const record of records(text)) {
      const biased = record.bias_sent?.trim();
      if (biased !== '0' && biased !== '1') continue;
      const rebuttal = biased === '0' && record.bias_phrase?.trim() === '1';
      all.push({
        text: record.comment!,
        label: biased === '1' ? 'biased' : 'not biased',
        source: file,
        category:
          biased === '1' ? `${group} biased` : rebuttal ? `${group} quoting or rebuttal` : `${group} not biased`,
      });
    }
  }
  return all;
}

/** Jigsaw's identity-term sentence templates: `toxic` / `nontoxic` minimal pairs, category = template. */
export async function jigsawIdentityTemplates(dataDir: string): Promise<LabeledText[]> {
  const { file, rows } = await verifiedCsv(join(dataDir, 'jigsaw-identity-templates'));
  return rows.map((record) => ({
    text: record.phrase!,
    label: record.toxicity!,
    source: file,
    category: record.template!,
  }));
}

export interface CsvLabeling {
  textColumn: string;
  labelColumn: string;
  /** The label value of the positive (hateful) class; every other value is negative. */
  positiveLabel: string;
  categoryColumn?: string;
}

export class CsvColumnError extends Error {
  constructor(column: string, header: readonly string[]) {
    super(
      `the CSV has no column ${JSON.stringify(column)}; its columns are ${header.map((h) => JSON.stringify(h)).join(', ')}`,
    );
    this.name = 'CsvColumnError';
  }
}

/** An operator's labelled CSV as evaluation rows; rows with an empty text are skipped. */
export function labeledCsv(
  text: string,
  labeling: CsvLabeling,
): Array<{ text: string; positive: boolean; category: string }> {
  const [header = [], ...rows] = parseCsv(text.replace(/^\ufeff/, '')).filter((row) => row.length > 1 || row[0] !== '');
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index === -1) throw new CsvColumnError(name, header);
    return index;
  };
  const textAt = column(labeling.textColumn);
  const labelAt = column(labeling.labelColumn);
  const categoryAt = labeling.categoryColumn === undefined ? undefined : column(labeling.categoryColumn);
  return rows
    .filter((row) => (row[textAt] ?? '').trim() !== '')
    .map((row) => {
      const label = (row[labelAt] ?? '').trim();
      return {
        text: row[textAt]!,
        positive: label === labeling.positiveLabel,
        category: `data/${categoryAt === undefined ? label : (row[categoryAt] ?? '')}`,
      };
    });
}
