import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { testServices } from '../../test/services.ts';
import { describeAnalyticsStoreContract } from './analytics-store.contract.ts';
import { createAnalyticsStore } from './analytics-store.ts';

// chDB binds one data directory per process; every store in this file shares it, one database each.
let chdbPath: string;
beforeAll(async () => {
  chdbPath = await mkdtemp(join(tmpdir(), 'livepulse-chdb-'));
});
afterAll(async () => {
  await rm(chdbPath, { recursive: true, force: true });
});

describeAnalyticsStoreContract('chdb', (database) => createAnalyticsStore({ kind: 'chdb', path: chdbPath, database }));

describeAnalyticsStoreContract('clickhouse over HTTP', (database) =>
  createAnalyticsStore({
    kind: 'clickhouse',
    url: testServices().clickhouseUrl,
    username: 'default',
    password: '',
    database,
  }),
);
