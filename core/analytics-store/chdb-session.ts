import { ClickHouseError, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { importOptional } from '../optional-module.ts';
import { SerialQueue } from '../serial-queue.ts';
import { SqlSplitError, splitSqlStatements } from './migrations.ts';
import { quoteString } from './sql-quoting.ts';

/**
 * Living with one chDB session. On a ClickHouse server, settings sent with a query apply to that
 * query only. A chDB session keeps every `SET` until the session ends, and `chdb/connection` sends
 * per-call `clickhouse_settings` as `SET` statements, so without help an
 * `insert_deduplication_token` given to one insert silently deduplicates (drops) the next insert
 * into the same table. Both the embedded adapter and the local ClickHouse HTTP server therefore run
 * one call at a time and put the session's settings back after each call. Both also refuse
 * multi-statement queries, which chDB would run but a ClickHouse server rejects. A `SET` sent as a
 * query of its own still persists on the session; pass settings with the call instead.
 */

/** True when `sql` holds more than one statement (a server runs one statement per request). */
export function isMultiStatement(sql: string): boolean {
  // INSERT data follows the statement and may contain anything, `;` included.
  if (/^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*INSERT\b/i.test(sql)) return false;
  try {
    return splitSqlStatements(sql).length > 1;
  } catch (error) {
    // Malformed SQL: the engine's own syntax error is the better answer.
    if (error instanceof SqlSplitError) return false;
    throw error;
  }
}

export const MULTI_STATEMENT_ERROR = {
  code: 62,
  type: 'SYNTAX_ERROR',
  message: 'Syntax error (Multi-statements are not allowed)',
} as const;

interface SettingRow {
  name: string;
  changed: number;
  value: string;
}

/** The settings a fresh session starts with, so they can be restored after a call changed them. */
export class SessionSettingsBaseline {
  private constructor(
    private readonly known: ReadonlySet<string>,
    /** chDB itself changes a few settings at startup (e.g. allow_introspection_functions). */
    private readonly changedAtStart: ReadonlyMap<string, string>,
  ) {}

  /** `queryJsonEachRow` runs SQL on the fresh session and returns its JSONEachRow output. */
  static async read(queryJsonEachRow: (sql: string) => Promise<string>): Promise<SessionSettingsBaseline> {
    const text = await queryJsonEachRow('SELECT name, changed, value FROM system.settings');
    const rows = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SettingRow);
    return new SessionSettingsBaseline(
      new Set(rows.map((row) => row.name)),
      new Map(rows.filter((row) => row.changed !== 0).map((row) => [row.name, row.value])),
    );
  }

  /**
   * A `SET` statement restoring the named settings, or undefined when none of them is a setting
   * (names that are not settings cannot have been changed: their `SET` failed).
   */
  restoreStatement(names: Iterable<string>): string | undefined {
    const assignments = [...new Set(names)]
      .filter((name) => this.known.has(name))
      .map((name) => {
        const initial = this.changedAtStart.get(name);
        return `${name} = ${initial === undefined ? 'DEFAULT' : quoteString(initial)}`;
      });
    return assignments.length === 0 ? undefined : `SET ${assignments.join(', ')}`;
  }
}

/** The connection contract `createClient({ connection })` takes. */
export type ClientConnection = NonNullable<ClickHouseClientConfigOptions['connection']>;
type CallParams<K extends 'query' | 'insert' | 'exec' | 'command' | 'ping'> = Parameters<ClientConnection[K]>[0];

/**
 * `chdb/connection` with ClickHouse-server semantics for per-call settings: calls run one at a
 * time, and the settings a call passed are restored before the next call starts.
 */
class SettingsScopedChdbConnection implements ClientConnection {
  readonly #queue = new SerialQueue();

  constructor(
    private readonly inner: ClientConnection,
    private readonly baseline: SessionSettingsBaseline,
  ) {}

  query(params: CallParams<'query'>) {
    return this.#scoped(params, () => this.inner.query(params));
  }

  insert(params: CallParams<'insert'>) {
    return this.#scoped(params, () => this.inner.insert(params));
  }

  exec(params: CallParams<'exec'>) {
    return this.#scoped(params, () => this.inner.exec(params));
  }

  command(params: CallParams<'command'>) {
    return this.#scoped(params, () => this.inner.command(params));
  }

  ping(params: CallParams<'ping'>) {
    return this.#queue.run(() => this.inner.ping(params));
  }

  close() {
    return this.#queue.run(() => this.inner.close());
  }

  #scoped<T>(params: { query: string; clickhouse_settings?: object }, call: () => Promise<T>): Promise<T> {
    if (isMultiStatement(params.query)) {
      return Promise.reject(
        new ClickHouseError({ ...MULTI_STATEMENT_ERROR, code: String(MULTI_STATEMENT_ERROR.code) }),
      );
    }
    const restore = this.baseline.restoreStatement(Object.keys(params.clickhouse_settings ?? {}));
    return this.#queue.run(async () => {
      try {
        return await call();
      } catch (error) {
        throw asClientError(error);
      } finally {
        if (restore !== undefined) await this.inner.command({ query: restore });
      }
    });
  }
}

/**
 * chdb/connection raises @clickhouse/client-common's ClickHouseError, a different class from the
 * one @clickhouse/client exports; re-raise it as the client's, so `instanceof ClickHouseError`
 * holds on both adapters.
 */
function asClientError(error: unknown): unknown {
  if (error instanceof ClickHouseError || !(error instanceof Error) || error.constructor.name !== 'ClickHouseError')
    return error;
  const { code, type } = error as Error & { code: string; type?: string };
  const mapped = new ClickHouseError({ message: error.message, code, type });
  mapped.cause = error;
  return mapped;
}

/** A `@clickhouse/client` connection to the chDB data directory at `path`. */
export async function createSettingsScopedChdbConnection(path: string): Promise<ClientConnection> {
  // chDB is ~540 MB and an optional dependency: only a process with the embedded store loads it.
  const { createChdbConnection } = await importOptional('chdb/connection', () => import('chdb/connection'), {
    neededFor: 'the embedded analytics store (no CLICKHOUSE_URL)',
    remedy: 'run `npm install chdb`, or set CLICKHOUSE_URL to use a ClickHouse server',
  });
  const chdb = createChdbConnection({ path });
  const baseline = await SessionSettingsBaseline.read(async (sql) =>
    (await chdb.chdb.queryAsync(sql, { format: 'JSONEachRow' })).text(),
  );
  // chdb/connection implements the contract as @clickhouse/client-common declares it, and
  // @clickhouse/client bundles its own copy of those declarations; the two differ only in their
  // lists of known settings, so the same object is typed as the client's contract here.
  return new SettingsScopedChdbConnection(chdb as unknown as ClientConnection, baseline);
}
