import { decodeModelFile, encodeModelFile, requireFiniteFields } from './model-file.ts';

/**
 * The classifier head over sentence embeddings: one hidden layer of ReLU units, then a logit, to
 * which the n-gram model's logit is added (stacking the two local models: the n-gram model knows
 * the words, the encoder the meaning). A linear head over the embeddings added nothing over the
 * n-gram model in exploratory runs; the hidden layer is what pays (model card).
 *
 * File: the magic `LPEH`, a little-endian uint32 header length, a JSON header (`EncoderHeadHeader`),
 * then float32 weights: hidden × dimensions input weights (row per hidden unit), hidden biases,
 * hidden output weights.
 */

const MAGIC = 'LPEH';
export const ENCODER_HEAD_FORMAT_VERSION = 1;

export interface EncoderHeadHeader {
  version: number;
  dimensions: number;
  hidden: number;
  /** Output bias. */
  bias: number;
  /** Weight of the n-gram model's logit in the stacked score. */
  ngramWeight: number;
  /** Stacked logit at and above which a text is flagged. */
  threshold: number;
  /** Training settings, data digests and validation figures. */
  about: Record<string, unknown>;
}

export interface EncoderHeadWeights {
  input: Float32Array;
  hiddenBias: Float32Array;
  output: Float32Array;
}

export class EncoderHeadFormatError extends Error {
  constructor(reason: string) {
    super(`not a Livepulse encoder head file: ${reason}`);
    this.name = 'EncoderHeadFormatError';
  }
}

function checkShapes(header: EncoderHeadHeader, weights: EncoderHeadWeights): void {
  const { dimensions, hidden } = header;
  if (weights.input.length !== dimensions * hidden)
    throw new RangeError(`expected ${dimensions * hidden} input weights, got ${weights.input.length}`);
  if (weights.hiddenBias.length !== hidden || weights.output.length !== hidden)
    throw new RangeError(`expected ${hidden} hidden biases and output weights`);
}

export function encodeEncoderHead(header: EncoderHeadHeader, weights: EncoderHeadWeights): Buffer {
  checkShapes(header, weights);
  const body = Buffer.alloc(4 * (weights.input.length + 2 * header.hidden));
  let at = 0;
  for (const array of [weights.input, weights.hiddenBias, weights.output])
    for (const w of array) at = body.writeFloatLE(w, at);
  return encodeModelFile(MAGIC, header, body);
}

export function decodeEncoderHead(bytes: Uint8Array): { header: EncoderHeadHeader; weights: EncoderHeadWeights } {
  const fail = (reason: string) => new EncoderHeadFormatError(reason);
  const { header: parsed, body } = decodeModelFile(MAGIC, bytes, fail);
  const header = parsed as unknown as EncoderHeadHeader;
  if (header.version !== ENCODER_HEAD_FORMAT_VERSION)
    throw new EncoderHeadFormatError(
      `format version ${header.version}, this code reads ${ENCODER_HEAD_FORMAT_VERSION}`,
    );
  requireFiniteFields(parsed, ['dimensions', 'hidden', 'bias', 'ngramWeight', 'threshold'], fail);
  const { dimensions, hidden } = header;
  const count = dimensions * hidden + 2 * hidden;
  if (body.length !== 4 * count)
    throw new EncoderHeadFormatError(`${body.length} weight bytes, expected ${4 * count} for ${hidden}×${dimensions}`);
  const floats = new Float32Array(count);
  for (let i = 0; i < count; i++) floats[i] = body.readFloatLE(4 * i);
  return {
    header,
    weights: {
      input: floats.subarray(0, dimensions * hidden),
      hiddenBias: floats.subarray(dimensions * hidden, dimensions * hidden + hidden),
      output: floats.subarray(dimensions * hidden + hidden),
    },
  };
}

export class EncoderHead {
  constructor(
    readonly header: EncoderHeadHeader,
    readonly weights: EncoderHeadWeights,
  ) {
    checkShapes(header, weights);
  }

  static fromBytes(bytes: Uint8Array): EncoderHead {
    const { header, weights } = decodeEncoderHead(bytes);
    return new EncoderHead(header, weights);
  }

  /** The head's own logit for an embedding. */
  logit(embedding: ArrayLike<number>): number {
    const { dimensions, hidden } = this.header;
    if (embedding.length !== dimensions)
      throw new RangeError(`embedding of ${embedding.length} numbers, the head takes ${dimensions}`);
    const { input, hiddenBias, output } = this.weights;
    let z = this.header.bias;
    for (let h = 0; h < hidden; h++) {
      let a = hiddenBias[h]!;
      const row = h * dimensions;
      for (let d = 0; d < dimensions; d++) a += input[row + d]! * embedding[d]!;
      if (a > 0) z += output[h]! * a;
    }
    return z;
  }

  /** The stacked logit: the head's plus the n-gram model's, weighted. */
  stackedLogit(embedding: ArrayLike<number>, ngramLogit: number): number {
    return this.logit(embedding) + this.header.ngramWeight * ngramLogit;
  }
}
