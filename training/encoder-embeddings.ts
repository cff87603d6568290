import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SentenceEncoder } from '../core/moderation/classifier/sentence-encoder.ts';

/**
 * Sentence embeddings of the labelled rows, cached on disk so retraining the encoder's head takes
 * seconds rather than the many minutes embedding 70,000 texts costs on one core. The cache is a
 * pure function of the encoder's files and the texts: its name carries the ONNX file's sha256, and
 * each entry the text's (each text embedded alone, as the processor does). Never committed;
 * deleting it only costs time.
 *
 * File: `LPEC`, uint32 dimensions, uint32 count, then per entry a 32-byte sha256 of the text and
 * `dimensions` float32s.
 */

const MAGIC = 'LPEC';
const BATCH = 32;

export function embeddingCacheFile(
  encoder: SentenceEncoder,
  dir = process.env.LIVEPULSE_EMBEDDING_CACHE ?? join(homedir(), '.cache', 'livepulse', 'encoder-embeddings'),
): string {
  return join(dir, `${encoder.manifest.sha256['encoder-int8.onnx']!.slice(0, 16)}-single.bin`);
}

const textKey = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

async function readCache(file: string, dimensions: number): Promise<Map<string, Float32Array>> {
  const cache = new Map<string, Float32Array>();
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return cache;
    throw error;
  }
  if (bytes.toString('latin1', 0, 4) !== MAGIC || bytes.readUInt32LE(4) !== dimensions)
    throw new Error(`${file} is not an embedding cache of ${dimensions} dimensions: delete it`);
  const count = bytes.readUInt32LE(8);
  const entry = 32 + 4 * dimensions;
  if (bytes.length !== 12 + count * entry)
    throw new Error(`${file} is truncated (${bytes.length} bytes for ${count} entries): delete it`);
  for (let i = 0; i < count; i++) {
    const at = 12 + i * entry;
    const vector = new Float32Array(dimensions);
    for (let d = 0; d < dimensions; d++) vector[d] = bytes.readFloatLE(at + 32 + 4 * d);
    cache.set(bytes.toString('hex', at, at + 32), vector);
  }
  return cache;
}

async function writeCache(file: string, dimensions: number, cache: Map<string, Float32Array>): Promise<void> {
  const entry = 32 + 4 * dimensions;
  const bytes = Buffer.alloc(12 + cache.size * entry);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(dimensions, 4);
  bytes.writeUInt32LE(cache.size, 8);
  let at = 12;
  for (const [key, vector] of cache) {
    bytes.write(key, at, 'hex');
    for (let d = 0; d < dimensions; d++) bytes.writeFloatLE(vector[d]!, at + 32 + 4 * d);
    at += entry;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
}

/**
 * The embedding of every text, from the cache where it has one; the rest are embedded and added to
 * the cache. `progress` hears how many are done.
 */
export async function embedTexts(
  encoder: SentenceEncoder,
  texts: readonly string[],
  options: { cacheFile?: string; progress?: (done: number, total: number) => void } = {},
): Promise<Float32Array[]> {
  const cacheFile = options.cacheFile ?? embeddingCacheFile(encoder);
  const cache = await readCache(cacheFile, encoder.dimensions);
  const missing = [...new Set(texts)].filter((text) => !cache.has(textKey(text)));
  for (let start = 0; start < missing.length; start += BATCH) {
    const batch = missing.slice(start, start + BATCH);
    const vectors = await encoder.embed(batch);
    batch.forEach((text, i) => cache.set(textKey(text), vectors[i]!));
    options.progress?.(Math.min(start + BATCH, missing.length), missing.length);
    // Saved now and then, so an interrupted run keeps most of its work.
    if ((start / BATCH) % 200 === 199) await writeCache(cacheFile, encoder.dimensions, cache);
  }
  if (missing.length > 0) await writeCache(cacheFile, encoder.dimensions, cache);
  return texts.map((text) => cache.get(textKey(text))!);
}
