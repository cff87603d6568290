import type { Readable } from 'node:stream';

/**
 * Object store for recordings, clips and reports.
 * Embedded: a local directory. Distributed: S3 (or any S3-compatible server).
 * Keys are `/`-separated and never start with `/`; `.`, `..` and empty segments are rejected.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  contentType?: string;
}

export interface PutOptions {
  /** Defaults to DEFAULT_CONTENT_TYPE. */
  contentType?: string;
}

/** What `head` reports for an object put without a content type, on every adapter. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

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
  constructor(
    readonly key: string,
    reason: string,
  ) {
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
  // S3 could store `a//b` or `a/`, but a directory cannot, and both adapters must agree.
  if (key.split('/').includes(''))
    throw new InvalidObjectKeyError(key, 'must not contain empty segments (// or a trailing /)');
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f\\]/.test(key))
    throw new InvalidObjectKeyError(key, 'must not contain control characters or backslashes');
}

/**
 * A list prefix is a key's leading characters: everything up to its last `/` must be a valid
 * key (so it names no directory outside the store), the rest is matched literally.
 */
export function assertValidListPrefix(prefix: string): void {
  const lastSlash = prefix.lastIndexOf('/');
  if (lastSlash !== -1) assertValidObjectKey(prefix.slice(0, lastSlash));
}

/** A byte range that starts at or past the end of the object. */
export class RangeNotSatisfiableError extends Error {
  constructor(
    readonly key: string,
    readonly start: number,
  ) {
    super(`range starting at byte ${start} is past the end of object ${key}`);
    this.name = 'RangeNotSatisfiableError';
  }
}

/** Shared range rule: whole byte offsets with 0 ≤ start ≤ end. */
export function assertValidByteRange(range: { start: number; end?: number }): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0)
    throw new RangeError(`range start must be a non-negative integer, got ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError(`range end must be an integer no less than start (${start}), got ${end}`);
  }
}
