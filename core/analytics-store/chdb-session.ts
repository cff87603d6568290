import type { Readable } from 'node:stream';
import { createChdbConnection, type ChdbConnection, type Connection } from 'chdb/connection';

/**
 * Living with one chDB session. On a ClickHouse server, settings sent with a query apply to that
 * query only. A chDB session keeps every `SET` until the session ends, and `chdb/connection` sends
 * per-call `clickhouse_settings` as `SET` statements, so without help an
 * `insert_deduplication_token` given to one insert silently deduplicates (drops) the next insert
 * into the same table. Both the embedded adapter and the local ClickHouse HTTP server therefore run
 * one call at a time and put the session's settings back after each call.
 */

/** Runs tasks one after another, in call order. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    // The chain only orders tasks; each caller still sees its own task's rejection through `result`.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** A ClickHouse string literal with `\` and `'` escaped. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A ClickHouse identifier in backquotes, for names we do not control (e.g. a test's database). */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

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

  isSetting(name: string): boolean {
    return this.known.has(name);
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

type ChdbCall<K extends 'query' | 'insert' | 'exec' | 'command'> = Parameters<ChdbConnection[K]>[0];

/**
 * `chdb/connection` with ClickHouse-server semantics for per-call settings: calls run one at a
 * time, and the settings a call passed are restored before the next call starts.
 */
class SettingsScopedChdbConnection implements Connection<Readable> {
  readonly #queue = new SerialQueue();

  constructor(
    private readonly inner: ChdbConnection,
    private readonly baseline: SessionSettingsBaseline,
  ) {}

  query(params: ChdbCall<'query'>) {
    return this.#scoped(params, () => this.inner.query(params));
  }

  insert(params: ChdbCall<'insert'>) {
    return this.#scoped(params, () => this.inner.insert(params));
  }

  exec(params: ChdbCall<'exec'>) {
    return this.#scoped(params, () => this.inner.exec(params));
  }

  command(params: ChdbCall<'command'>) {
    return this.#scoped(params, () => this.inner.command(params));
  }

  ping(params: Parameters<ChdbConnection['ping']>[0]) {
    return this.#queue.run(() => this.inner.ping(params));
  }

  close() {
    return this.#queue.run(() => this.inner.close());
  }

  #scoped<T>(params: { clickhouse_settings?: object }, call: () => Promise<T>): Promise<T> {
    const restore = this.baseline.restoreStatement(Object.keys(params.clickhouse_settings ?? {}));
    if (restore === undefined) return this.#queue.run(call);
    return this.#queue.run(async () => {
      try {
        return await call();
      } finally {
        await this.inner.command({ query: restore });
      }
    });
  }
}

/** A `@clickhouse/client` connection to the chDB data directory at `path`. */
export async function createSettingsScopedChdbConnection(path: string): Promise<Connection<Readable>> {
  const inner = createChdbConnection({ path });
  const baseline = await SessionSettingsBaseline.read(
    async (sql) => (await inner.chdb.queryAsync(sql, { format: 'JSONEachRow' })).text(),
  );
  return new SettingsScopedChdbConnection(inner, baseline);
}
