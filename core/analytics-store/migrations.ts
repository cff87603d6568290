import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnalyticsStore } from './analytics-store.ts';
import { insertRows } from './insert.ts';

/**
 * Versioned schema migrations for the analytics store: `NNNN_name.sql` files applied in version
 * order and recorded in `schema_migrations`.
 *
 * Every statement must be safe to run twice (`CREATE … IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`,
 * `DROP … IF EXISTS`). There is no lock: two processes starting together may both apply a pending
 * migration, and a crash between a file's statements and its record re-runs the whole file on the
 * next start. Recording is idempotent (a deduplication token per version and checksum, in a
 * ReplacingMergeTree read with FINAL), so concurrent starters end with one row per version.
 */

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  file: string;
  /** sha256 of the file with line endings normalised, so a CRLF checkout is not a "change". */
  checksum: string;
  statements: string[];
}

export class MigrationFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`migration ${file}: ${reason}`);
    this.name = 'MigrationFileError';
  }
}

export class MigrationChecksumError extends Error {
  constructor(
    readonly file: string,
    readonly appliedChecksum: string,
    readonly currentChecksum: string,
  ) {
    super(
      `migration ${file} was changed after it was applied (applied checksum ${appliedChecksum}, file now ${currentChecksum}); ` +
        'applied migrations are immutable: restore the file and add a new migration instead',
    );
    this.name = 'MigrationChecksumError';
  }
}

export class SqlSplitError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(`${reason} starting at offset ${offset}`);
    this.name = 'SqlSplitError';
  }
}

/**
 * Splits SQL text into statements at every `;` that is outside a string literal ('…'), a quoted
 * identifier ("…", `…`) and a comment (`-- …` to the end of the line, and nestable block comments,
 * as ClickHouse reads them). Statements are trimmed; comment-only pieces are dropped because
 * ClickHouse rejects an empty query. Heredoc strings ($$…$$) are not understood.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (ch === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i);
      hasCode = true;
    } else if (ch === ';') {
      if (hasCode) statements.push(sql.slice(start, i).trim());
      start = i + 1;
      hasCode = false;
      i += 1;
    } else {
      if (!/\s/.test(ch)) hasCode = true;
      i += 1;
    }
  }
  if (hasCode) statements.push(sql.slice(start).trim());
  return statements;
}

/** Returns the offset just past the closing quote; `\x` escapes and a doubled quote stay inside. */
function skipQuoted(sql: string, open: number): number {
  const quote = sql[open]!;
  let i = open + 1;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === '\\') i += 2;
    else if (ch === quote && sql[i + 1] === quote) i += 2;
    else if (ch === quote) return i + 1;
    else i += 1;
  }
  throw new SqlSplitError(open, quote === "'" ? 'unterminated string literal' : 'unterminated quoted identifier');
}

function skipBlockComment(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth += 1;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  throw new SqlSplitError(open, 'unterminated block comment');
}

/** Reads and validates every `*.sql` file in `dir`, ordered by version. Other files are ignored. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new MigrationFileError(file, 'name must look like 0001_lowercase_name.sql');
    const text = (await readFile(join(dir, file), 'utf8')).replace(/\r\n/g, '\n');
    let statements: string[];
    try {
      statements = splitSqlStatements(text);
    } catch (error) {
      if (error instanceof SqlSplitError) throw new MigrationFileError(file, error.message);
      throw error;
    }
    if (statements.length === 0) throw new MigrationFileError(file, 'contains no statements');
    const version = Number(match[1]);
    const previous = migrations.at(-1);
    if (previous?.version === version)
      throw new MigrationFileError(file, `version ${match[1]} is also used by ${previous.file}`);
    migrations.push({
      version,
      name: match[2]!,
      file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements,
    });
  }
  return migrations;
}

const SCHEMA_MIGRATIONS_DDL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
SETTINGS non_replicated_deduplication_window = 1000`;

interface AppliedMigrationRow {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Applies the migrations in `dir` that are not yet recorded, in version order, and returns the
 * files it applied (empty when the schema is current). Throws MigrationChecksumError, before
 * applying anything, when an applied file has changed. Recorded versions without a file (a newer
 * schema seen by an older build during a rolling deploy) are left alone.
 */
export async function applyMigrations(store: AnalyticsStore, dir: string = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  await store.client.command({ query: SCHEMA_MIGRATIONS_DDL });
  const appliedResult = await store.client.query({
    query: 'SELECT version, name, checksum FROM schema_migrations FINAL ORDER BY version',
    format: 'JSONEachRow',
  });
  const applied = new Map((await appliedResult.json<AppliedMigrationRow>()).map((row) => [row.version, row]));

  for (const migration of migrations) {
    const record = applied.get(migration.version);
    if (record && record.checksum !== migration.checksum) {
      throw new MigrationChecksumError(migration.file, record.checksum, migration.checksum);
    }
  }

  const newlyApplied: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) {
      await store.client.command({ query: statement });
    }
    await insertRows(store, {
      table: 'schema_migrations',
      rows: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      dedupToken: `schema_migrations-${migration.version}-${migration.checksum}`,
    });
    newlyApplied.push(migration.file);
  }
  return newlyApplied;
}
