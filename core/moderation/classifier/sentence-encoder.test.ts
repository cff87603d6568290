import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ENCODER_DIR,
  EncoderFileError,
  meanPooled,
  SentenceEncoder,
  truncatedIds,
  type EncoderManifest,
} from './sentence-encoder.ts';

describe('meanPooled', () => {
  it.each([
    // [hidden (rows × tokens × dims), mask, rows, tokens, dims, expected]
    ['one token is its own direction', [3, 4], [1], 1, 1, 2, [[0.6, 0.8]]],
    ['the mean of the kept tokens, normalised', [1, 0, 0, 1], [1, 1], 1, 2, 2, [[Math.SQRT1_2, Math.SQRT1_2]]],
    ['padding ignored', [0, 2, 9, 9], [1, 0], 1, 2, 2, [[0, 1]]],
    [
      'rows pooled apart',
      [1, 0, 0, 5, 0, 3, 4, 0],
      [1, 0, 1, 1],
      2,
      2,
      2,
      [
        [1, 0],
        [0.8, 0.6],
      ],
    ],
    ['an all-zero row stays zero, not NaN', [0, 0], [1], 1, 1, 2, [[0, 0]]],
  ])('%s', (_name, hidden, mask, rows, tokens, dims, expected) => {
    const pooled = meanPooled(Float32Array.from(hidden), mask, rows, tokens, dims);
    expect(pooled.map((v) => [...v].map((x) => Math.round(x * 1e6) / 1e6))).toEqual(
      expected.map((v) => v.map((x) => Math.round(x * 1e6) / 1e6)),
    );
  });

  it('refuses shapes that do not add up', () => {
    expect(() => meanPooled(new Float32Array(5), [1, 1], 1, 2, 2)).toThrow(RangeError);
    expect(() => meanPooled(new Float32Array(4), [1], 1, 2, 2)).toThrow(RangeError);
  });
});

describe('truncatedIds', () => {
  it.each([
    [[101, 7, 102], 4, [101, 7, 102]],
    [[101, 7, 8, 9, 102], 4, [101, 7, 8, 102]],
  ])('%j cut to %i tokens keeps the closing separator', (ids, max, expected) => {
    expect(truncatedIds(ids, max)).toEqual(expected);
  });
});

describe('the committed sentence encoder', () => {
  let encoder: SentenceEncoder;
  beforeAll(async () => {
    encoder = await SentenceEncoder.load();
  });
  afterAll(async () => {
    await encoder.close();
  });

  it('is the file training/finetune-encoder.sh produced: the manifest names its hashes, and the files have them', () => {
    const manifest = JSON.parse(readFileSync(join(ENCODER_DIR, 'manifest.json'), 'utf8')) as EncoderManifest;
    // The fine-tune recipe recorded these bytes (model card, "Reproducibility").
    expect(manifest.sha256['encoder-int8.onnx']).toBe(
      'a961edeac3f87659672f91231c3008ece84d897d4a804dd32d92838ae21df39e',
    );
    expect(manifest.fineTuned).toMatchObject({
      recipe: 'training/finetune-encoder.sh',
      settings: { seed: 20261207, max_tokens: 64, epochs: 2 },
    });
    for (const [file, sha256] of Object.entries(manifest.sha256)) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(ENCODER_DIR, file)))
          .digest('hex'),
        file,
      ).toBe(sha256);
    }
    expect(manifest).toMatchObject({ licence: 'Apache-2.0', dimensions: 384, maxTokens: 64 });
  });

  it('refuses a copy whose files do not match the manifest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'encoder-'));
    for (const file of ['manifest.json', 'encoder-int8.onnx', 'tokenizer_config.json'])
      copyFileSync(join(ENCODER_DIR, file), join(dir, file));
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    await expect(SentenceEncoder.load(dir)).rejects.toThrow(EncoderFileError);
  });

  // Token ids and pooled embeddings as the Python tokenizer and onnxruntime give them for the same files.
  it.each([
    [
      "people like her don't deserve to live",
      [101, 2111, 2066, 2014, 2123, 1005, 1056, 10107, 2000, 2444, 102],
      [-0.05947, -0.05256, 0.03422, -0.02252],
    ],
    ['gg', [101, 1043, 2290, 102], [-0.06436, 0.06391, -0.00201, 0.02596]],
    [
      'Ünïcödé café 🤬 f.u.c.k',
      [101, 27260, 7668, 100, 1042, 1012, 1057, 1012, 1039, 1012, 1047, 102],
      [0.03389, -0.02171, 0.00574, -0.02374],
    ],
  ])('reads %j as the reference implementation does', async (text, ids, firstDimensions) => {
    expect(encoder.tokenIds(text)).toEqual(ids);
    const [embedding] = await encoder.embed([text]);
    expect([...embedding!.slice(0, 4)].map((x) => Math.round(x * 1e4) / 1e4)).toEqual(
      firstDimensions.map((x) => Math.round(x * 1e4) / 1e4),
    );
    expect(Math.hypot(...embedding!)).toBeCloseTo(1, 5);
    // The same beside a longer text: a score does not depend on its batch.
    const [inBatch] = await encoder.embed([text, 'hello world, this is a longer message than the others']);
    expect([...inBatch!]).toEqual([...embedding!]);
  });

  it('places texts that mean the same near each other, and unrelated ones apart', async () => {
    const [a, b, c] = await encoder.embed([
      'that boss fight was brutal',
      'the boss battle was really hard',
      'women should not be allowed to vote',
    ]);
    const cosine = (x: Float32Array, y: Float32Array) => x.reduce((sum, v, i) => sum + v * y[i]!, 0);
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!) + 0.3);
  });
});
