import { mkdir } from 'node:fs/promises';
import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
} from '@clickhouse/client';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createSettingsScopedChdbConnection } from './chdb-session.ts';
import { quoteIdentifier } from './sql-quoting.ts';

/**
 * The analytics store port: a `@clickhouse/client` bound to Livepulse's database.
 * Embedded: chDB (the ClickHouse engine in-process) on a local directory. Distributed: a
 * ClickHouse server over HTTP. Callers write the same SQL for both; the contract suite
 * (analytics-store.contract.ts) checks that both behave alike where we rely on it.
 */
export interface AnalyticsStore {
  readonly client: ClickHouseClient;
  readonly kind: 'chdb' | 'clickhouse';
  readonly database: string;
  /** Resolves when the store answers a query; throws AnalyticsStoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class AnalyticsStoreUnavailableError extends Error {
  constructor(
    readonly kind: AnalyticsStore['kind'],
    options: { cause: unknown },
  ) {
    super(
      `analytics store (${kind}) did not answer a ping: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = 'AnalyticsStoreUnavailableError';
  }
}

/**
 * The client's own logger prints every failed request to stderr. Every such failure is also thrown
 * to the caller, which logs it with context through pino, so the client stays quiet.
 */
const QUIET: Pick<ClickHouseClientConfigOptions, 'log'> = { log: { level: ClickHouseLogLevel.OFF } };

/** Connects, creates the database if it is missing, and binds the client to it. */
export async function createAnalyticsStore(config: Config['analyticsStore'], log?: Logger): Promise<AnalyticsStore> {
  const client = config.kind === 'chdb' ? await connectChdb(config) : await connectClickHouse(config);
  const store: AnalyticsStore = {
    client,
    kind: config.kind,
    database: config.database,
    async ping() {
      const result = await client.ping({ select: true });
      if (!result.success) throw new AnalyticsStoreUnavailableError(config.kind, { cause: result.error });
    },
    close: () => client.close(),
  };
  log?.info({ kind: config.kind, database: config.database }, 'analytics store connected');
  return store;
}

async function connectChdb(config: Extract<Config['analyticsStore'], { kind: 'chdb' }>): Promise<ClickHouseClient> {
  await mkdir(config.path, { recursive: true });
  const client = createClient({ ...QUIET, connection: await createSettingsScopedChdbConnection(config.path) });
  try {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(config.database)}` });
    // chDB ignores the client's `database` option; the session's current database is the binding.
    await client.command({ query: `USE ${quoteIdentifier(config.database)}` });
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

async function connectClickHouse(
  config: Extract<Config['analyticsStore'], { kind: 'clickhouse' }>,
): Promise<ClickHouseClient> {
  const credentials = { ...QUIET, url: config.url, username: config.username, password: config.password };
  // The bound client names the database in every request, which fails until the database exists.
  const bootstrap = createClient(credentials);
  try {
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(config.database)}` });
  } finally {
    await bootstrap.close();
  }
  return createClient({ ...credentials, database: config.database });
}
