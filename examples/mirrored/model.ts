/**
 * What the workers and the single-process reference of the mirrored example share: the model
 * (`Dense(1)`, the program TensorFlow's MirroredStrategy guide starts from), the synthetic linear
 * data (y = 3x + 2) with one global batch per step, and the hash printed per step.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';

export const TRUE_SLOPE = 3;
export const TRUE_INTERCEPT = 2;
/** Rows of one step's global batch (split by rank: 48 divides evenly by 1, 2, 3 and 4 replicas). */
export const GLOBAL_BATCH = 48;
export const LEARNING_RATE = 0.3;

/** tfjs on its CPU backend, quietly (it suggests tfjs-node on stderr when it starts in Node). */
export async function cpuBackend(): Promise<void> {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    await tf.setBackend('cpu');
    await tf.ready();
    tf.tensor([0]).dispose(); // the notice comes with the first tensor
  } finally {
    console.warn = warn;
  }
}

export function denseModel(): tf.Sequential {
  return tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
}

/** The x values of step `step`'s global batch, from a seed: every process computes the same. */
export function batchXs(step: number): Float32Array {
  let state = (step * 2_654_435_761 + 12_345) >>> 0 || 1;
  const xs = new Float32Array(GLOBAL_BATCH);
  for (let i = 0; i < GLOBAL_BATCH; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    xs[i] = ((state >>> 0) / 2 ** 32) * 2 - 1;
  }
  return xs;
}

/** Rows `rank, rank + size, …` of a step's global batch, as tensors. */
export function shard(step: number, rank: number, size: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const all = batchXs(step);
  const xs = all.filter((_, i) => i % size === rank);
  const ys = xs.map((x) => TRUE_SLOPE * x + TRUE_INTERCEPT);
  return { xs: tf.tensor2d(xs, [xs.length, 1]), ys: tf.tensor2d(ys, [ys.length, 1]) };
}

/** The first 16 hex digits of SHA-256 over the weights' bytes. */
export function weightsHash(weights: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  for (const w of weights) hash.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  return hash.digest('hex').slice(0, 16);
}
