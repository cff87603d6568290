import { HashedFeatures } from './hashed-features.ts';
import { decodeModelFile, encodeModelFile, requireFiniteFields } from './model-file.ts';

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
  if (weights.length !== 2 ** header.bits)
    throw new RangeError(`expected ${2 ** header.bits} weights for ${header.bits} bits, got ${weights.length}`);
  return encodeModelFile(MAGIC, header, Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
}

export function decodeModel(bytes: Uint8Array): { header: ModelHeader; weights: Int8Array } {
  const fail = (reason: string) => new ModelFormatError(reason);
  const { header: parsed, body } = decodeModelFile(MAGIC, bytes, fail);
  const header = parsed as unknown as ModelHeader;
  if (header.version !== MODEL_FORMAT_VERSION)
    throw new ModelFormatError(`format version ${header.version}, this code reads ${MODEL_FORMAT_VERSION}`);
  requireFiniteFields(parsed, ['bits', 'weightScale', 'bias', 'threshold'], fail);
  const expected = 2 ** header.bits;
  if (body.length !== expected)
    throw new ModelFormatError(`${body.length} weight bytes, expected ${expected} for ${header.bits} bits`);
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
