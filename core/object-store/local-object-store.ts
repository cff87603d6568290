import { randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent, type Stats } from 'node:fs';
import {
  access,
  constants,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rmdir,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_CONTENT_TYPE,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  assertValidByteRange,
  assertValidListPrefix,
  assertValidObjectKey,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.ts';

export interface LocalObjectStoreOptions {
  /** Directory that holds everything; created on first use. */
  root: string;
}

/** A directory tree cannot hold both `a` and `a/b`, which S3 can: the local store refuses the second. */
export class ObjectKeyConflictError extends Error {
  constructor(readonly key: string) {
    super(
      `object key ${JSON.stringify(key)} conflicts with an existing object: one names a directory the other needs as a file`,
    );
    this.name = 'ObjectKeyConflictError';
  }
}

interface ObjectMetadata {
  contentType: string;
}

// What an fs call reports when there is no regular file at a path.
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
const KEY_CONFLICT = new Set(['ENOTDIR', 'EEXIST', 'EISDIR', 'ENOTEMPTY']);

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException | null)?.code ?? '';

/**
 * The object store in a local directory (embedded mode). Layout under `root`:
 * `objects/<key>` the bytes, so the tree reads like the bucket; `metadata/<key>` the content type
 * as JSON, in a parallel tree so it can never collide with a key; `incoming/` files being written.
 *
 * Writes land in `incoming/` and are renamed into place, so a reader sees the old object or the
 * whole new one, never part of one (renames are atomic within one filesystem). Metadata is renamed
 * just before the bytes, so during an overwrite `head` may briefly pair the new content type
 * with the old size. On a case-insensitive filesystem, keys differing only in case collide.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  private readonly objectsDir: string;
  private readonly metadataDir: string;
  private readonly incomingDir: string;

  constructor({ root }: LocalObjectStoreOptions) {
    const base = path.resolve(root);
    this.objectsDir = path.join(base, 'objects');
    this.metadataDir = path.join(base, 'metadata');
    this.incomingDir = path.join(base, 'incoming');
  }

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<void> {
    const objectPath = this.objectPath(key);
    const metadataPath = this.metadataPath(key);
    await mkdir(this.incomingDir, { recursive: true });
    const incomingObject = path.join(this.incomingDir, randomUUID());
    const incomingMetadata = `${incomingObject}.metadata`;
    const metadata: ObjectMetadata = { contentType: options.contentType ?? DEFAULT_CONTENT_TYPE };
    try {
      if (typeof body === 'string' || body instanceof Uint8Array) await writeFile(incomingObject, body, { flag: 'wx' });
      else await pipeline(body, createWriteStream(incomingObject, { flags: 'wx' }));
      await writeFile(incomingMetadata, JSON.stringify(metadata), { flag: 'wx' });
      await this.moveIntoPlace(key, incomingMetadata, metadataPath);
      await this.moveIntoPlace(key, incomingObject, objectPath);
    } catch (error) {
      await Promise.all([removeFileIfPresent(incomingObject), removeFileIfPresent(incomingMetadata)]);
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    const objectPath = this.objectPath(key);
    try {
      return await readFile(objectPath);
    } catch (error) {
      if (MISSING.has(errorCode(error))) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const objectPath = this.objectPath(key);
    if (range) assertValidByteRange(range);
    let handle: FileHandle;
    try {
      handle = await open(objectPath, 'r');
    } catch (error) {
      if (MISSING.has(errorCode(error))) throw new ObjectNotFoundError(key);
      throw error;
    }
    try {
      const info = await handle.stat();
      // Opening a directory for reading succeeds on Linux; it is still not an object.
      if (!info.isFile()) throw new ObjectNotFoundError(key);
      if (range && range.start >= info.size) throw new RangeNotSatisfiableError(key, range.start);
    } catch (error) {
      await handle.close();
      throw error;
    }
    // The stream closes the handle when it ends, fails or is destroyed.
    return handle.createReadStream({ start: range?.start, end: range?.end });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const info = await statFileIfPresent(this.objectPath(key));
    if (!info) return null;
    return { key, size: info.size, lastModified: info.mtime, contentType: await this.readContentType(key) };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidListPrefix(prefix);
    yield* this.listDirectory(prefix.slice(0, prefix.lastIndexOf('/') + 1), prefix);
  }

  async delete(key: string): Promise<void> {
    const objectPath = this.objectPath(key);
    const metadataPath = this.metadataPath(key);
    await removeFileIfPresent(objectPath);
    await removeFileIfPresent(metadataPath);
    await removeEmptyDirectories(path.dirname(objectPath), this.objectsDir);
    await removeEmptyDirectories(path.dirname(metadataPath), this.metadataDir);
  }

  async ping(): Promise<void> {
    for (const directory of [this.objectsDir, this.metadataDir, this.incomingDir]) {
      await mkdir(directory, { recursive: true });
      await access(directory, constants.R_OK | constants.W_OK);
    }
  }

  async close(): Promise<void> {}

  private objectPath(key: string): string {
    assertValidObjectKey(key);
    return path.join(this.objectsDir, key);
  }

  private metadataPath(key: string): string {
    assertValidObjectKey(key);
    return path.join(this.metadataDir, key);
  }

  private async moveIntoPlace(key: string, from: string, to: string): Promise<void> {
    // A concurrent delete may remove the parent directory, then empty, between mkdir and rename.
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(to), { recursive: true });
        await rename(from, to);
        return;
      } catch (error) {
        const code = errorCode(error);
        if (KEY_CONFLICT.has(code)) throw new ObjectKeyConflictError(key);
        if (code !== 'ENOENT' || attempt === 3) throw error;
      }
    }
  }

  private async readContentType(key: string): Promise<string> {
    try {
      return (JSON.parse(await readFile(this.metadataPath(key), 'utf8')) as ObjectMetadata).contentType;
    } catch (error) {
      // Deleted in the meantime, or placed in objects/ by hand: the default, as on S3.
      if (MISSING.has(errorCode(error))) return DEFAULT_CONTENT_TYPE;
      throw error;
    }
  }

  private async *listDirectory(directoryKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(this.objectsDir, directoryKey), { withFileTypes: true });
    } catch (error) {
      if (MISSING.has(errorCode(error))) return;
      throw error;
    }
    // S3 lists in UTF-8 byte order. Giving each directory a trailing `/` before sorting its
    // entries puts everything under `a/` exactly where `a/` sorts, so the walk keeps that order.
    const children = entries
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .map((entry) => ({
        key: `${directoryKey}${entry.name}${entry.isDirectory() ? '/' : ''}`,
        isDirectory: entry.isDirectory(),
      }))
      .filter((child) => child.key.startsWith(prefix))
      .map((child) => ({ ...child, utf8: Buffer.from(child.key) }))
      .sort((a, b) => Buffer.compare(a.utf8, b.utf8));
    for (const child of children) {
      if (child.isDirectory) {
        yield* this.listDirectory(child.key, prefix);
        continue;
      }
      const info = await statFileIfPresent(path.join(this.objectsDir, child.key));
      if (info) yield { key: child.key, size: info.size, lastModified: info.mtime };
    }
  }
}

async function statFileIfPresent(filePath: string): Promise<Stats | null> {
  try {
    const info = await stat(filePath);
    return info.isFile() ? info : null;
  } catch (error) {
    if (MISSING.has(errorCode(error))) return null;
    throw error;
  }
}

async function removeFileIfPresent(filePath: string): Promise<void> {
  try {
    await unlink(filePath);
  } catch (error) {
    if (!MISSING.has(errorCode(error))) throw error;
  }
}

/** Removes `directory` and its parents up to (not including) `root` while they are empty. */
async function removeEmptyDirectories(directory: string, root: string): Promise<void> {
  for (let current = directory; current !== root; current = path.dirname(current)) {
    try {
      await rmdir(current);
    } catch (error) {
      // Not empty (another object, or a put racing us), or already gone: either way, done.
      if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errorCode(error))) return;
      throw error;
    }
  }
}
