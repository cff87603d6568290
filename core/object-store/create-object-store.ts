import type { Config } from '../config.ts';
import { LocalObjectStore } from './local-object-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';

export function createObjectStore(config: Config['objectStore']): ObjectStore {
  switch (config.kind) {
    case 'local':
      return new LocalObjectStore({ root: config.root });
    case 's3':
      return new S3ObjectStore({
        bucket: config.bucket,
        endpoint: config.endpoint,
        region: config.region,
        forcePathStyle: config.forcePathStyle,
        prefix: config.prefix,
      });
  }
}
