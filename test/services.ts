import { inject } from 'vitest';

/** Endpoints of the real services that test/global-setup.ts started (or found running) through infra/local. */
export interface LocalServiceEndpoints {
  /** host:port of the single-node KRaft broker. */
  kafkaBrokers: string;
  /** redis://127.0.0.1:port */
  redisUrl: string;
  /** The S3-compatible server, with a bucket created for tests. */
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** http://127.0.0.1:port of the ClickHouse HTTP interface served over chDB. */
  clickhouseUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: LocalServiceEndpoints;
  }
}

export function testServices(): LocalServiceEndpoints {
  return inject('services');
}
