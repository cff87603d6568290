import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_PLATFORM_SECRETS } from '../../test/platform-env.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { createAnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';

/** The packages a process loaded, from test/fixtures/module-recorder.mjs's record. */
async function packagesLoaded(recordFile: string): Promise<Set<string>> {
  const urls = (await readFile(recordFile, 'utf8')).split('\n');
  return new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
}

describe('a Kafka-mode service loads only the dependencies it runs', () => {
  const database = `modules_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let scratch = '';

  afterAll(async () => {
    const services = testServices();
    const store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: services.clickhouseUrl,
      username: 'default',
      password: '',
      database: 'default',
    });
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}` });
    await store.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it.each(['viewer-analytics', 'ingest-api'])(
    'livepulse start %s: no chDB, no Snowflake driver',
    async (service) => {
      scratch ||= await mkdtemp(join(tmpdir(), 'livepulse-modules-'));
      const record = join(scratch, `${service}.txt`);
      const services = testServices();
      const child = spawn(
        process.execPath,
        ['--import', './test/fixtures/module-recorder.mjs', 'bin/livepulse.js', 'start', service],
        {
          env: {
            ...process.env,
            LIVEPULSE_MODULE_RECORD: record,
            PORT: '0',
            LOG_LEVEL: 'warn',
            KAFKA_BROKERS: services.kafkaBrokers,
            CLICKHOUSE_URL: services.clickhouseUrl,
            CLICKHOUSE_DATABASE: database,
            LIVEPULSE_WRITE_KEYS: `demo:${TEST_PLATFORM_SECRETS.writeKey}`,
            LIVEPULSE_JWT_SECRET: TEST_PLATFORM_SECRETS.jwtSecret,
            LIVEPULSE_IVS_WEBHOOK_SECRET: TEST_PLATFORM_SECRETS.ivsSecret,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(
          `${service} to listen`,
          () => {
            if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output}`);
            return output.includes('listening on');
          },
          { timeoutMs: 120_000, intervalMs: 100 },
        );
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
      const loaded = await packagesLoaded(record);
      expect(loaded).toContain('kafkajs');
      expect(loaded).toContain('@clickhouse/client');
      for (const unused of ['chdb', 'snowflake-sdk', '@grafana/grafana-foundation-sdk'])
        expect(loaded, unused).not.toContain(unused);
    },
    180_000,
  );
});
