/**
 * The classifier's features: word unigrams and bigrams and character 3- to 6-grams of the folded
 * text (`foldForMatching`: lowercase Latin words, lookalikes, leetspeak, spacing and repeats folded
 * away, so "1d10t" and "idiot" share features), hashed into 2^bits buckets (the hashing trick: no
 * vocabulary to ship). Built on char codes with FNV-1a and a murmur3 finaliser, no substrings: this
 * runs inline for every chat message.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SPACE = 32;
/** Seeds that keep the feature kinds apart in the hash space. */
const WORD_SEED = 0x9e3779b9;
const BIGRAM_SEED = 0x85ebca6b;
/** Character n-grams from 3 to 6 characters; one seed per length. */
const MIN_CHAR_NGRAM = 3;
const MAX_CHAR_NGRAM = 6;
const CHAR_SEEDS = [0, 0, 0, 0x27d4eb2f, 0x165667b1, 0xd3a2646c, 0x5bd1e995];

function finalise(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Feature bucket indices (repeats kept) of one folded text; reuses one buffer, valid until the next call. */
export class HashedFeatures {
  private buffer = new Uint32Array(1_024);
  private readonly shift: number;

  constructor(readonly bits: number) {
    if (!Number.isInteger(bits) || bits < 8 || bits > 24)
      throw new RangeError(`feature bits must be an integer from 8 to 24, got ${bits}`);
    this.shift = 32 - bits;
  }

  /** Fills the buffer with the bucket of every feature of `folded`; returns how many. */
  extract(folded: string): { indices: Uint32Array; count: number } {
    const length = folded.length;
    // Per character: up to four char n-grams, plus at most one word and one bigram.
    const capacity = (MAX_CHAR_NGRAM - MIN_CHAR_NGRAM + 3) * (length + 2);
    if (this.buffer.length < capacity) this.buffer = new Uint32Array(2 ** Math.ceil(Math.log2(capacity)));
    const out = this.buffer;
    const shift = this.shift;
    let count = 0;

    // Words and word bigrams.
    let previousWord = 0;
    let hasPrevious = false;
    let h = FNV_OFFSET ^ WORD_SEED;
    let inWord = false;
    for (let i = 0; i <= length; i++) {
      const c = i < length ? folded.charCodeAt(i) : SPACE;
      if (c === SPACE) {
        if (!inWord) continue;
        const word = finalise(h);
        out[count++] = word >>> shift;
        if (hasPrevious) out[count++] = finalise(Math.imul(previousWord ^ BIGRAM_SEED, FNV_PRIME) ^ word) >>> shift;
        previousWord = word;
        hasPrevious = true;
        h = FNV_OFFSET ^ WORD_SEED;
        inWord = false;
      } else {
        h = Math.imul(h ^ c, FNV_PRIME);
        inWord = true;
      }
    }

    // Character n-grams over the text padded with a space at each end.
    const padded = length + 2;
    const at = (i: number) => (i === 0 || i === padded - 1 ? SPACE : folded.charCodeAt(i - 1));
    for (let start = 0; start < padded; start++) {
      let g = FNV_OFFSET;
      for (let n = 1; n <= MAX_CHAR_NGRAM && start + n <= padded; n++) {
        g = Math.imul(g ^ at(start + n - 1), FNV_PRIME);
        if (n >= MIN_CHAR_NGRAM) out[count++] = finalise(g ^ CHAR_SEEDS[n]!) >>> shift;
      }
    }
    return { indices: out, count };
  }
}
