import type { TestProject } from 'vitest/node';
import { startLocalServices } from '../infra/local/process-supervisor.ts';

/**
 * Starts (or finds already running) the real Kafka, Redis, S3 and ClickHouse that contract and
 * integration tests use, and hands their endpoints to tests through `inject('services')`
 * (see test/services.ts). Only what this run started is stopped afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await startLocalServices(['kafka', 'redis', 's3', 'clickhouse'], {
    log: (line) => console.log(`[services] ${line}`),
  });
  const { kafkaBrokers, redisUrl, s3, clickhouseUrl } = services.endpoints;
  project.provide('services', {
    kafkaBrokers: kafkaBrokers!,
    redisUrl: redisUrl!,
    s3: s3!,
    clickhouseUrl: clickhouseUrl!,
  });
  return () => services.stop();
}
