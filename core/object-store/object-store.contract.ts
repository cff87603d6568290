import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_CONTENT_TYPE,
  InvalidObjectKeyError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  type ObjectInfo,
  type ObjectStore,
} from './object-store.ts';

const MiB = 1024 * 1024;

async function collect(objects: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const listed: ObjectInfo[] = [];
  for await (const object of objects) listed.push(object);
  return listed;
}

/** Yields `source` in `chunkBytes` pieces, then fails with `failure` if one is given. */
// eslint-disable-next-line @typescript-eslint/require-await -- a body stream as a store receives one: an async source
async function* chunksOf(source: Buffer, chunkBytes: number, failure?: Error): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < source.length; offset += chunkBytes) yield source.subarray(offset, offset + chunkBytes);
  if (failure) throw failure;
}

const INVALID_KEYS = [
  '',
  '/etc/passwd',
  '../escape',
  'a/../../escape',
  'a/./b',
  'a//b',
  'trailing/',
  'back\\slash',
  'nul\u0000',
  'x'.repeat(1025),
];

/**
 * What every ObjectStore adapter must do, run against each of them. Each test writes under its
 * own prefix inside one prefix for the run, which is emptied afterwards.
 */
export function describeObjectStoreContract(name: string, make: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const runPrefix = `contract-${randomUUID()}/`;
    let store: ObjectStore;
    let prefix: string;
    const key = (suffix: string) => `${prefix}${suffix}`;

    beforeAll(async () => {
      store = await make();
    });
    // Deleting the >1000 objects of the listing test takes a while on a busy machine.
    afterAll(async () => {
      const leftovers = await collect(store.list(runPrefix));
      for (let index = 0; index < leftovers.length; index += 50) {
        await Promise.all(leftovers.slice(index, index + 50).map((object) => store.delete(object.key)));
      }
      await store.close();
    }, 120_000);
    beforeEach(() => {
      prefix = `${runPrefix}${randomUUID()}/`;
    });

    describe('put / get / head', () => {
      it('round-trips binary data byte for byte', async () => {
        const bytes = Buffer.concat([
          Buffer.from(Array.from({ length: 256 }, (_, byte) => byte)),
          randomBytes(64 * 1024),
        ]);
        await store.put(key('clip.bin'), bytes);
        expect((await store.get(key('clip.bin'))).equals(bytes)).toBe(true);
      });

      it('accepts strings (as UTF-8) and plain Uint8Arrays', async () => {
        await store.put(key('report.json'), '{"title":"héllo ✓"}');
        await store.put(key('raw.bin'), new Uint8Array([1, 2, 3]));
        expect((await store.get(key('report.json'))).toString('utf8')).toBe('{"title":"héllo ✓"}');
        expect([...(await store.get(key('raw.bin')))]).toEqual([1, 2, 3]);
      });

      it('reports size, last modification and content type through head', async () => {
        await store.put(key('playlist.m3u8'), '#EXTM3U\n', { contentType: 'application/vnd.apple.mpegurl' });
        const info = await store.head(key('playlist.m3u8'));
        expect(info).toMatchObject({
          key: key('playlist.m3u8'),
          size: 8,
          contentType: 'application/vnd.apple.mpegurl',
        });
        expect(info!.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(Date.now() - info!.lastModified.getTime())).toBeLessThan(60_000);
      });

      it('reports the default content type when none was given', async () => {
        await store.put(key('blob'), 'x');
        expect((await store.head(key('blob')))?.contentType).toBe(DEFAULT_CONTENT_TYPE);
      });

      it('answers head of a missing key with null, and get or getStream with ObjectNotFoundError', async () => {
        expect(await store.head(key('missing'))).toBeNull();
        await expect(store.get(key('missing'))).rejects.toThrow(ObjectNotFoundError);
        await expect(store.getStream(key('missing'))).rejects.toThrow(ObjectNotFoundError);
        await expect(store.getStream(key('missing'), { start: 0, end: 1 })).rejects.toThrow(ObjectNotFoundError);
      });

      it('replaces an object on overwrite, content type included', async () => {
        await store.put(key('thumb'), 'first version', { contentType: 'text/plain' });
        await store.put(key('thumb'), 'v2');
        expect((await store.get(key('thumb'))).toString()).toBe('v2');
        expect(await store.head(key('thumb'))).toMatchObject({ size: 2, contentType: DEFAULT_CONTENT_TYPE });
      });
    });

    describe('streams', () => {
      it('streams a ~6 MB object in and out', async () => {
        const bytes = randomBytes(6 * MiB + 123);
        await store.put(key('segment.ts'), Readable.from(chunksOf(bytes, 64 * 1024)), { contentType: 'video/mp2t' });
        expect((await buffer(await store.getStream(key('segment.ts')))).equals(bytes)).toBe(true);
        expect(await store.head(key('segment.ts'))).toMatchObject({ size: bytes.length, contentType: 'video/mp2t' });
      });

      it('reads inclusive byte ranges, clamping an end past the object', async () => {
        await store.put(key('letters'), 'abcdefghij');
        const read = async (range: { start: number; end?: number }) =>
          (await buffer(await store.getStream(key('letters'), range))).toString();
        expect(await read({ start: 2, end: 5 })).toBe('cdef');
        expect(await read({ start: 0, end: 0 })).toBe('a');
        expect(await read({ start: 7 })).toBe('hij');
        expect(await read({ start: 8, end: 100 })).toBe('ij');
      });

      it('rejects a range past the end with RangeNotSatisfiableError and a malformed one with RangeError', async () => {
        await store.put(key('letters'), 'abcdefghij');
        await expect(store.getStream(key('letters'), { start: 10 })).rejects.toThrow(RangeNotSatisfiableError);
        await expect(store.getStream(key('letters'), { start: 5, end: 4 })).rejects.toThrow(RangeError);
        await expect(store.getStream(key('letters'), { start: -1 })).rejects.toThrow(RangeError);
      });

      it('never shows an object whose body is still arriving', async () => {
        const body = new PassThrough();
        const putting = store.put(key('live.ts'), body);
        body.write(Buffer.alloc(1024, 1));
        await sleep(100);
        expect(await store.head(key('live.ts'))).toBeNull();
        await expect(store.get(key('live.ts'))).rejects.toThrow(ObjectNotFoundError);
        expect(await collect(store.list(prefix))).toEqual([]);
        body.end(Buffer.alloc(1024, 2));
        await putting;
        expect((await store.head(key('live.ts')))?.size).toBe(2048);
      });

      it('leaves nothing behind, and keeps the previous version, when the body stream fails', async () => {
        await store.put(key('clip.mp4'), 'previous');
        const failure = new Error('encoder crashed');
        const failing = Readable.from(chunksOf(randomBytes(6 * MiB), 256 * 1024, failure));
        await expect(store.put(key('clip.mp4'), failing)).rejects.toThrow(failure);
        await expect(store.put(key('new.mp4'), Readable.from(chunksOf(Buffer.alloc(10), 5, failure)))).rejects.toThrow(
          failure,
        );
        expect((await store.get(key('clip.mp4'))).toString()).toBe('previous');
        expect(await store.head(key('new.mp4'))).toBeNull();
      });
    });

    describe('list', () => {
      const tricky = ['é/x', 'z~', 'ab', 'a/c/d', 'a/b', 'a.txt', 'a-c', 'B'];

      it('lists every object under a prefix recursively, in UTF-8 byte order, with sizes', async () => {
        for (const suffix of tricky) await store.put(key(suffix), suffix);
        const listed = await collect(store.list(prefix));
        expect(listed.map((object) => object.key)).toEqual(
          ['B', 'a-c', 'a.txt', 'a/b', 'a/c/d', 'ab', 'z~', 'é/x'].map(key),
        );
        expect(listed.map((object) => object.size)).toEqual([1, 3, 5, 3, 5, 2, 2, 4]);
        expect(listed.every((object) => object.lastModified instanceof Date)).toBe(true);
      });

      it('matches prefixes that end inside a segment as well as at a /', async () => {
        for (const suffix of tricky) await store.put(key(suffix), suffix);
        const keysUnder = async (suffix: string) =>
          (await collect(store.list(key(suffix)))).map((object) => object.key);
        expect(await keysUnder('a')).toEqual(['a-c', 'a.txt', 'a/b', 'a/c/d', 'ab'].map(key));
        expect(await keysUnder('a/')).toEqual(['a/b', 'a/c/d'].map(key));
        expect(await keysUnder('a/c')).toEqual(['a/c/d'].map(key));
        expect(await keysUnder('nothing')).toEqual([]);
        expect(await keysUnder('a/c/d/')).toEqual([]);
      });

      it('lists more than 1000 objects (more than one S3 page)', async () => {
        const keys = Array.from({ length: 1_001 }, (_, index) => key(`many/${String(index).padStart(4, '0')}`));
        for (let index = 0; index < keys.length; index += 50) {
          await Promise.all(keys.slice(index, index + 50).map((objectKey) => store.put(objectKey, 'x')));
        }
        expect((await collect(store.list(key('many/')))).map((object) => object.key)).toEqual(keys);
      });
    });

    describe('delete', () => {
      it('removes an object from get, head and list; the key can be used again', async () => {
        await store.put(key('old/clip.mp4'), 'clip');
        await store.put(key('kept.mp4'), 'clip');
        await store.delete(key('old/clip.mp4'));
        expect(await store.head(key('old/clip.mp4'))).toBeNull();
        await expect(store.get(key('old/clip.mp4'))).rejects.toThrow(ObjectNotFoundError);
        expect((await collect(store.list(prefix))).map((object) => object.key)).toEqual([key('kept.mp4')]);
        await store.put(key('old/clip.mp4'), 'again');
        expect((await store.get(key('old/clip.mp4'))).toString()).toBe('again');
      });

      it('accepts deleting a missing key', async () => {
        await expect(store.delete(key('never-written'))).resolves.toBeUndefined();
      });
    });

    describe('keys', () => {
      it.each(INVALID_KEYS.map((invalid) => [JSON.stringify(invalid).slice(0, 40), invalid]))(
        'rejects %s with InvalidObjectKeyError in every operation',
        async (_label, invalid) => {
          await expect(store.put(invalid, 'x')).rejects.toThrow(InvalidObjectKeyError);
          await expect(store.get(invalid)).rejects.toThrow(InvalidObjectKeyError);
          await expect(store.getStream(invalid)).rejects.toThrow(InvalidObjectKeyError);
          await expect(store.head(invalid)).rejects.toThrow(InvalidObjectKeyError);
          await expect(store.delete(invalid)).rejects.toThrow(InvalidObjectKeyError);
        },
      );

      it('rejects list prefixes that name a directory outside the store', async () => {
        await expect(collect(store.list('../'))).rejects.toThrow(InvalidObjectKeyError);
        await expect(collect(store.list('/etc/'))).rejects.toThrow(InvalidObjectKeyError);
        await expect(collect(store.list('a/../../'))).rejects.toThrow(InvalidObjectKeyError);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
