/**
 * Training a logistic regression over hashed features: AdaGrad stochastic gradient descent with L2
 * weight decay on the weights a step touches, examples in a seeded order each epoch. Deterministic:
 * the same examples, settings and seed give the same weights, bit for bit. Then quantised to int8
 * for the model file (`linear-model.ts`).
 */

export interface TrainingExample {
  /** Feature bucket indices, repeats kept (`HashedFeatures.extract`). */
  features: Uint32Array;
  positive: boolean;
  /** How much this example counts (class and dataset balance); 1 when unsure. */
  weight: number;
}

export interface TrainingSettings {
  bits: number;
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
}

export interface TrainedWeights {
  weights: Float64Array;
  bias: number;
}

/** mulberry32: a small seeded generator, so the example order is a function of the seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function trainLogisticRegression(
  examples: readonly TrainingExample[],
  settings: TrainingSettings,
): TrainedWeights {
  if (examples.length === 0) throw new RangeError('no training examples');
  const size = 2 ** settings.bits;
  const weights = new Float64Array(size);
  const squaredGradients = new Float64Array(size).fill(1e-8);
  let bias = 0;
  let biasSquared = 1e-8;
  const random = seededRandom(settings.seed);
  for (let epoch = 0; epoch < settings.epochs; epoch++) {
    for (const example of shuffled(examples, random)) {
      const { features, weight } = example;
      if (features.length === 0) continue;
      const norm = 1 / Math.sqrt(features.length);
      let z = bias;
      for (let i = 0; i < features.length; i++) z += weights[features[i]!]! * norm;
      // Gradient of the weighted log loss with respect to the logit.
      const g = (sigmoid(z) - (example.positive ? 1 : 0)) * weight;
      for (let i = 0; i < features.length; i++) {
        const f = features[i]!;
        const gradient = g * norm + settings.l2 * weights[f]!;
        squaredGradients[f] = squaredGradients[f]! + gradient * gradient;
        weights[f] = weights[f]! - (settings.learningRate * gradient) / Math.sqrt(squaredGradients[f]);
      }
      biasSquared += g * g;
      bias -= (settings.learningRate * g) / Math.sqrt(biasSquared);
    }
  }
  return { weights, bias };
}

/** int8 weights and the scale that maps them back: the largest weight becomes ±127. */
export function quantise(weights: Float64Array): { weights: Int8Array; scale: number } {
  let largest = 0;
  for (const w of weights) largest = Math.max(largest, Math.abs(w));
  const scale = largest === 0 ? 1 : largest / 127;
  const quantised = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) quantised[i] = Math.round(weights[i]! / scale);
  return { weights: quantised, scale };
}

/**
 * The lowest threshold whose false-positive rate on the negatives stays at or under `maxFpr`:
 * scores at or above it are flagged.
 */
export function thresholdForFalsePositiveRate(negativeScores: readonly number[], maxFpr: number): number {
  if (negativeScores.length === 0) throw new RangeError('no negative scores to set a threshold on');
  return thresholdForFlagBudget(negativeScores, Math.floor(maxFpr * negativeScores.length));
}

/**
 * The lowest threshold that flags at most `allowed` of the negative scores; a budget of zero or
 * less flags none of them. Scores at or above it are flagged.
 */
export function thresholdForFlagBudget(negativeScores: readonly number[], budget: number): number {
  if (negativeScores.length === 0) return -Infinity;
  const allowed = Math.max(0, budget);
  const sorted = [...negativeScores].sort((a, b) => b - a);
  // Flag strictly above the (allowed+1)-th highest negative score.
  const boundary = sorted[Math.min(allowed, sorted.length - 1)]!;
  return allowed >= sorted.length ? -Infinity : nextUp(boundary);
}

/** The smallest double greater than x, so a threshold excludes the score it was set from. */
function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}
