import { randomUUID } from 'node:crypto';
import { createAnalyticsStore, type AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../core/analytics-store/migrations.ts';
import { testServices } from './services.ts';

/** A migrated database of its own on the shared test ClickHouse, so test files never see each other's rows. */
export async function createThrowawayAnalyticsStore(prefix: string): Promise<AnalyticsStore> {
  const store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: testServices().clickhouseUrl,
    username: 'default',
    password: '',
    database: `${prefix}_${randomUUID().replaceAll('-', '')}`,
  });
  await applyMigrations(store);
  return store;
}

/** Drops the database {@link createThrowawayAnalyticsStore} made, and closes the store. */
export async function dropThrowawayAnalyticsStore(store: AnalyticsStore | undefined): Promise<void> {
  await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
  await store?.close();
}
