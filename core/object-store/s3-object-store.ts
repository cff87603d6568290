import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
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

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible server instead of AWS. */
  endpoint?: string;
  /** `endpoint/bucket/key` URLs instead of `bucket.endpoint/key`; most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /** Prepended to every key (a missing trailing `/` is added), so installations can share a bucket. */
  prefix?: string;
  /** Without them, the default AWS chain (environment, shared config, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Stream bodies longer than this go up as a multipart upload in parts of this size (S3: at least 5 MiB). */
  partSizeBytes?: number;
}

const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

/** The object store in an S3 bucket (distributed mode), or any S3-compatible server. */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly partSizeBytes: number;

  constructor({
    bucket,
    region,
    endpoint,
    forcePathStyle = false,
    prefix = '',
    credentials,
    partSizeBytes = 8 * 1024 * 1024,
  }: S3ObjectStoreOptions) {
    if (!Number.isSafeInteger(partSizeBytes) || partSizeBytes < MIN_PART_SIZE_BYTES) {
      throw new RangeError(
        `partSizeBytes must be an integer of at least ${MIN_PART_SIZE_BYTES} (S3's minimum part size), got ${partSizeBytes}`,
      );
    }
    this.bucket = bucket;
    this.keyPrefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.partSizeBytes = partSizeBytes;
    this.client = new S3Client({
      region,
      endpoint,
      forcePathStyle,
      credentials,
      // Without timeouts a request to an unreachable or stalled server waits forever. The idle
      // timeout also applies while a getStream body is being read, so a reader that leaves one
      // paused for a minute gets a TimeoutError rather than holding the connection indefinitely.
      requestHandler: { connectionTimeout: 5_000, socketTimeout: 60_000 },
    });
  }

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<void> {
    const objectKey = this.objectKey(key);
    const contentType = options.contentType ?? DEFAULT_CONTENT_TYPE;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body, ContentType: contentType }),
      );
      return;
    }
    await this.putStream(objectKey, body, contentType);
  }

  async get(key: string): Promise<Buffer> {
    const { Body } = await this.getObject(key);
    // A successful GetObject always has a body.
    const bytes = await Body!.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const { Body } = await this.getObject(key, range);
    if (!(Body instanceof Readable)) throw new TypeError('S3 GetObject returned a body that is not a Node.js stream');
    return Body;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const { ContentLength, LastModified, ContentType } = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      // S3 always sends Content-Length and Last-Modified; the SDK types every header as optional.
      return { key, size: ContentLength!, lastModified: LastModified!, contentType: ContentType };
    } catch (error) {
      // A HEAD reply has no body to say why: a missing bucket also lands here (ping reports that).
      if (hasStatus(error, 404)) return null;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidListPrefix(prefix);
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.keyPrefix + prefix,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        // Listed objects always carry these; the SDK types every field as optional.
        yield { key: object.Key!.slice(this.keyPrefix.length), size: object.Size!, lastModified: object.LastModified! };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  private objectKey(key: string): string {
    assertValidObjectKey(key);
    return this.keyPrefix + key;
  }

  private async getObject(key: string, range?: { start: number; end?: number }): Promise<GetObjectCommandOutput> {
    const objectKey = this.objectKey(key);
    if (range) assertValidByteRange(range);
    try {
      return await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Range: range && `bytes=${range.start}-${range.end ?? ''}`,
        }),
      );
    } catch (error) {
      if (error instanceof NoSuchKey) throw new ObjectNotFoundError(key);
      if (range && hasStatus(error, 416)) throw new RangeNotSatisfiableError(key, range.start);
      throw error;
    }
  }

  /**
   * PutObject needs the length up front, which a stream does not have. So the stream is read a
   * part at a time: one that ends within the first part goes up as a single PutObject, a longer
   * one as a multipart upload with one part in memory at a time. S3 shows the object only when
   * the upload completes; on failure the upload is aborted so its stored parts are not kept
   * (and billed) either.
   */
  private async putStream(objectKey: string, body: Readable, contentType: string): Promise<void> {
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    const uploadPart = async (part: Buffer) => {
      uploadId ??= (
        await this.client.send(
          new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, ContentType: contentType }),
        )
      ).UploadId!;
      const PartNumber = parts.length + 1;
      const { ETag } = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId, PartNumber, Body: part }),
      );
      parts.push({ ETag, PartNumber });
    };

    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of body) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string | Uint8Array);
        pending.push(bytes);
        pendingBytes += bytes.length;
        while (pendingBytes >= this.partSizeBytes) {
          const joined = Buffer.concat(pending);
          await uploadPart(joined.subarray(0, this.partSizeBytes));
          pending = [joined.subarray(this.partSizeBytes)];
          pendingBytes = pending[0]!.length;
        }
      }
      const rest = Buffer.concat(pending);
      if (uploadId === undefined) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: rest, ContentType: contentType }),
        );
        return;
      }
      if (rest.length > 0) await uploadPart(rest);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: objectKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      if (uploadId !== undefined) {
        try {
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }),
          );
        } catch (abortError) {
          throw new AggregateError(
            [error, abortError],
            `upload of ${objectKey} failed, and so did aborting multipart upload ${uploadId}`,
          );
        }
      }
      throw error;
    }
  }
}

function hasStatus(error: unknown, status: number): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === status;
}
