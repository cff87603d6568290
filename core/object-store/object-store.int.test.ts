import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { testServices } from '../../test/services.ts';
import { createObjectStore } from './create-object-store.ts';
import { LocalObjectStore } from './local-object-store.ts';
import { describeObjectStoreContract } from './object-store.contract.ts';
import { S3ObjectStore } from './s3-object-store.ts';

const temporaryRoots: string[] = [];
afterAll(async () => {
  for (const root of temporaryRoots) await rm(root, { recursive: true, force: true });
});

async function temporaryRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'livepulse-object-store-'));
  temporaryRoots.push(root);
  return root;
}

function s3Options() {
  const { endpoint, bucket, region, accessKeyId, secretAccessKey } = testServices().s3;
  // The smallest part S3 allows, so the contract's ~6 MB stream takes the multipart path.
  return {
    bucket,
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    partSizeBytes: 5 * 1024 * 1024,
  };
}

describeObjectStoreContract('local', async () => new LocalObjectStore({ root: await temporaryRoot() }));
describeObjectStoreContract('s3', () => Promise.resolve(new S3ObjectStore(s3Options())));

describe('createObjectStore', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('builds a local store on the configured root', async () => {
    const store = createObjectStore({ kind: 'local', root: await temporaryRoot() });
    expect(store.kind).toBe('local');
    await store.ping();
    await store.close();
  });

  it('builds an S3 store that takes credentials from the default AWS chain', async () => {
    const { endpoint, bucket, region, accessKeyId, secretAccessKey } = testServices().s3;
    vi.stubEnv('AWS_ACCESS_KEY_ID', accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', secretAccessKey);
    const store = createObjectStore({ kind: 's3', bucket, endpoint, region, forcePathStyle: true, prefix: '' });
    expect(store.kind).toBe('s3');
    await store.ping();
    await store.close();
  });
});

describe('S3ObjectStore', () => {
  const { bucket, endpoint, region, accessKeyId, secretAccessKey } = testServices().s3;
  const raw = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  afterAll(() => raw.destroy());

  it('keeps every key under its prefix and lists keys relative to it', async () => {
    const prefix = `prefix-test-${randomUUID()}`;
    const store = new S3ObjectStore({ ...s3Options(), prefix });
    try {
      await store.put('clips/1.mp4', 'clip');
      await expect(
        raw.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/clips/1.mp4` })),
      ).resolves.toBeDefined();
      const listed: string[] = [];
      for await (const object of store.list('')) listed.push(object.key);
      expect(listed).toEqual(['clips/1.mp4']);
      expect(await store.head('clips/1.mp4')).toMatchObject({ key: 'clips/1.mp4', size: 4 });
    } finally {
      await store.delete('clips/1.mp4');
      await store.close();
    }
  });

  it('aborts the multipart upload of a failing stream, so no parts are kept', async () => {
    const store = new S3ObjectStore(s3Options());
    const key = `multipart-abort-${randomUUID()}/clip.mp4`;
    // eslint-disable-next-line @typescript-eslint/require-await -- a body stream that fails mid-way; the store reads it as an async source
    async function* failAfterTwoParts() {
      yield randomBytes(11 * 1024 * 1024);
      throw new Error('encoder crashed');
    }
    try {
      await expect(store.put(key, Readable.from(failAfterTwoParts()))).rejects.toThrow('encoder crashed');
      const { Uploads } = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
      expect(Uploads ?? []).toEqual([]);
      expect(await store.head(key)).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('fails ping when the bucket does not exist', async () => {
    const store = new S3ObjectStore({ ...s3Options(), bucket: `missing-${randomUUID()}` });
    try {
      await expect(store.ping()).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    } finally {
      await store.close();
    }
  });
});
