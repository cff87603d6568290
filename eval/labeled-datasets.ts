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
  const dir = join(dataDir, 'youtube-spam');
  const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length === 2);
  const all: LabeledText[] = [];
  for (const [sha256, file] of sums) {
    for (const record of records(await verifiedText(join(dir, file!), sha256!))) {
      all.push({ text: record.CONTENT!.replace(/\ufeff/g, '').trim(), label: record.CLASS === '1' ? 'spam' : 'ham', source: file! });
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
  return records(text).map((record) => ({ text: decodeEntities(record.tweet!), label: DAVIDSON_CLASSES[record.class!]!, source: 'labeled_data.csv' }));
}
