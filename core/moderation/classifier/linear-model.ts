import { HashedFeatures } from './hashed-features.ts';

/**
 * A logistic-regression model over hashed features, and its file format.
 *
 * File: the magic `LPLM`, a little-endian uint32 header length, a JSON header (`ModelHeader`), then
 * one int8 weight per feature bucket. A weight is `int8 × weightScale`; the score of a text is
 * `bias + Σ weight(feature) / √(number of features)`, a logit. Quantising to int8 keeps the file a
 * quarter of float32's size; the figures in the header are those of the quantised model.
 */

const MAGIC = 'LPLM';
export const MODEL_FORMAT_VERSION = 1;

export interface ModelHeader {
  version: number;
  /** log2 of the number of feature buckets. */
  bits: number;
  weightScale: number;
  bias: number;
  /** Logit at and above which a text is flagged. */
  threshold: number;
  /** Anything else worth keeping beside the weights: seed, data hashes, training settings, figures. */
  about: Record<string, unknown>;
}

export class ModelFormatError extends Error {
  constructor(reason: string) {
    super(`not a Livepulse linear model file: ${reason}`);
    this.name = 'ModelFormatError';
  }
}

export function encodeModel(header: ModelHeader, weights: Int8Array): Buffer {
  if (weights.length !== 2 ** header.bits) throw new RangeError(`expected ${2 ** header.bits} weights for ${header.bits} bits, got ${weights.length}`);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 4);
  return Buffer.concat([prefix, json, Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength)]);
}

export function decodeModel(bytes: Uint8Array): { header: ModelHeader; weights: Int8Array } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== MAGIC) throw new ModelFormatError(`missing the ${MAGIC} magic`);
  const headerLength = buffer.readUInt32LE(4);
  if (8 + headerLength > buffer.length) throw new ModelFormatError(`header of ${headerLength} bytes runs past the end of the file`);
  let header: ModelHeader;
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + headerLength)) as ModelHeader;
  } catch (error) {
    throw new ModelFormatError(`header is not JSON (${(error as Error).message})`);
  }
  if (header.version !== MODEL_FORMAT_VERSION) throw new ModelFormatError(`format version ${header.version}, this code reads ${MODEL_FORMAT_VERSION}`);
  for (const field of ['bits', 'weightScale', 'bias', 'threshold'] as const) {
    if (typeof header[field] !== 'number' || !Number.isFinite(header[field])) throw new ModelFormatError(`header field ${field} is not a finite number`);
  }
  const expected = 2 ** header.bits;
  const body = buffer.subarray(8 + headerLength);
  if (body.length !== expected) throw new ModelFormatError(`${body.length} weight bytes, expected ${expected} for ${header.bits} bits`);
  return { header, weights: new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
}

export class LinearTextModel {
  private readonly features: HashedFeatures;

  constructor(
    readonly header: ModelHeader,
    private readonly weights: Int8Array,
  ) {
    this.features = new HashedFeatures(header.bits);
  }

  static fromBytes(bytes: Uint8Array): LinearTextModel {
    const { header, weights } = decodeModel(bytes);
    return new LinearTextModel(header, weights);
  }

  /** The logit for a folded text (`foldForMatching` output). */
  logit(folded: string): number {
    const { indices, count } = this.features.extract(folded);
    if (count === 0) return this.header.bias;
    let sum = 0;
    for (let i = 0; i < count; i++) sum += this.weights[indices[i]!]!;
    return this.header.bias + (sum * this.header.weightScale) / Math.sqrt(count);
  }

  /** The probability the text is in the positive class. */
  probability(folded: string): number {
    return 1 / (1 + Math.exp(-this.logit(folded)));
  }
}
