import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore, ObjectKeyConflictError } from './local-object-store.ts';
import { InvalidObjectKeyError } from './object-store.ts';

describe('LocalObjectStore on disk', () => {
  let parent: string;
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'livepulse-local-store-'));
    root = path.join(parent, 'store');
    store = new LocalObjectStore({ root });
    await store.ping();
  });
  afterEach(async () => {
    await store.close();
    await rm(parent, { recursive: true, force: true });
  });

  it('keeps the bytes at objects/<key>, so the tree reads like the bucket', async () => {
    await store.put('recordings/2024/segment.ts', 'bytes', { contentType: 'video/mp2t' });
    expect(await readFile(path.join(root, 'objects', 'recordings', '2024', 'segment.ts'), 'utf8')).toBe('bytes');
  });

  it('never writes outside its root, whatever the key', async () => {
    for (const key of ['../escape', '../../escape', '/tmp/escape', 'a/../../escape', `${parent}/escape`]) {
      await expect(store.put(key, 'x')).rejects.toThrow(InvalidObjectKeyError);
    }
    expect(await readdir(parent)).toEqual(['store']);
  });

  it('refuses a key that would need a file where a directory is, or the reverse', async () => {
    await store.put('clips/a', 'file');
    await expect(store.put('clips/a/b', 'x')).rejects.toThrow(ObjectKeyConflictError);
    await store.put('reports/x/y', 'file');
    await expect(store.put('reports/x', 'x')).rejects.toThrow(ObjectKeyConflictError);
    expect((await store.get('clips/a')).toString()).toBe('file');
    expect((await store.get('reports/x/y')).toString()).toBe('file');
    expect(await store.head('reports/x')).toBeNull();
    expect(await readdir(path.join(root, 'incoming'))).toEqual([]);
  });

  it('removes directories a delete leaves empty, and only those', async () => {
    await store.put('clips/stream-1/a.mp4', 'a');
    await store.put('clips/stream-2/b.mp4', 'b');
    await store.delete('clips/stream-1/a.mp4');
    expect(await readdir(path.join(root, 'objects', 'clips'))).toEqual(['stream-2']);
    expect(await readdir(path.join(root, 'metadata', 'clips'))).toEqual(['stream-2']);
    await store.delete('clips/stream-2/b.mp4');
    expect(await readdir(path.join(root, 'objects'))).toEqual([]);
    expect(await readdir(path.join(root, 'metadata'))).toEqual([]);
  });

  it('cleans up its incoming file when a body stream fails', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- a body stream that fails mid-way; the store reads it as an async source
    async function* failing() {
      yield Buffer.alloc(1024);
      throw new Error('source went away');
    }
    await expect(store.put('clips/broken.mp4', Readable.from(failing()))).rejects.toThrow('source went away');
    expect(await readdir(path.join(root, 'incoming'))).toEqual([]);
  });
});
