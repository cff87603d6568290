import { describe, expect, it } from 'vitest';
import {
  decodeEncoderHead,
  EncoderHead,
  EncoderHeadFormatError,
  encodeEncoderHead,
  type EncoderHeadHeader,
  type EncoderHeadWeights,
} from './encoder-head.ts';

const header = (over: Partial<EncoderHeadHeader> = {}): EncoderHeadHeader => ({
  version: 1,
  dimensions: 2,
  hidden: 2,
  bias: -1,
  ngramWeight: 0.5,
  threshold: 0,
  about: { note: 'test' },
  ...over,
});
// Unit 0 reads x0 - x1, unit 1 reads x1 + 0.5; output 2·unit0 - 1·unit1.
const weights = (): EncoderHeadWeights => ({
  input: Float32Array.from([1, -1, 0, 1]),
  hiddenBias: Float32Array.from([0, 0.5]),
  output: Float32Array.from([2, -1]),
});

describe('EncoderHead', () => {
  const head = new EncoderHead(header(), weights());

  it.each([
    // [embedding, head logit]: bias -1 + 2·relu(x0 - x1) - relu(x1 + 0.5)
    [[0, 0], -1 - 0.5],
    [[1, 0], -1 + 2 - 0.5],
    [[0, 1], -1 - 1.5],
    [[0, -1], -1 + 2],
  ])('the logit of %j is %d (ReLU units, then a weighted sum)', (embedding, expected) => {
    expect(head.logit(embedding)).toBeCloseTo(expected, 6);
  });

  it.each([
    [[1, 0], 2, -1 + 2 - 0.5 + 0.5 * 2],
    [[1, 0], -4, -1 + 2 - 0.5 - 0.5 * 4],
  ])('stacks %j with an n-gram logit of %d by the stored weight', (embedding, ngram, expected) => {
    expect(head.stackedLogit(embedding, ngram)).toBeCloseTo(expected, 6);
  });

  it('refuses an embedding of the wrong size', () => {
    expect(() => head.logit([1, 2, 3])).toThrow(/embedding of 3 numbers, the head takes 2/);
  });
});

describe('encoder head file', () => {
  it('round-trips header and weights', () => {
    const decoded = decodeEncoderHead(encodeEncoderHead(header(), weights()));
    expect(decoded.header).toEqual(header());
    expect([...decoded.weights.input, ...decoded.weights.hiddenBias, ...decoded.weights.output]).toEqual([
      1, -1, 0, 1, 0, 0.5, 2, -1,
    ]);
  });

  it.each([
    ['no magic', Buffer.from('nope')],
    ['a truncated body', encodeEncoderHead(header(), weights()).subarray(0, 40)],
    ['another version', encodeEncoderHead(header({ version: 9 }), weights())],
    [
      'a threshold that is not a number',
      Buffer.from(
        encodeEncoderHead(header(), weights()).toString('latin1').replace('"threshold":0', '"threshold":"x"'),
        'latin1',
      ),
    ],
  ])('refuses %s with a specific error', (_name, bytes) => {
    expect(() => decodeEncoderHead(bytes)).toThrow(EncoderHeadFormatError);
  });

  it('refuses weights that do not fit the header', () => {
    expect(() => encodeEncoderHead(header({ hidden: 3 }), weights())).toThrow(RangeError);
  });
});
