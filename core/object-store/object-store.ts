import type { Readable } from 'node:stream';

/**
 * Object store for recordings, clips and reports.
 * Embedded: a local directory. Distributed: S3 (or any S3-compatible server).
 * Keys are `/`-separated and never start with `/`; `..` segments are rejected.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  contentType?: string;
}

export interface PutOptions {
  contentType?: string;
}

export type ObjectBody = Buffer | Uint8Array | string | Readable;

export interface ObjectStore {
  readonly kind: 'local' | 's3';
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<void>;
  /** Whole object in memory; throws ObjectNotFoundError. */
  get(key: string): Promise<Buffer>;
  /** Streams the object (optionally a byte range, inclusive end); throws ObjectNotFoundError. */
  getStream(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object under a prefix, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidObjectKeyError extends Error {
  constructor(readonly key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

/** Shared key rule, so both adapters accept and reject the same keys. */
export function assertValidObjectKey(key: string): void {
  if (key.length === 0 || key.length > 1024) throw new InvalidObjectKeyError(key, 'must be 1–1024 characters');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'must not start with /');
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new InvalidObjectKeyError(key, 'must not contain . or .. segments');
  }
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f\\]/.test(key)) throw new InvalidObjectKeyError(key, 'must not contain control characters or backslashes');
}
