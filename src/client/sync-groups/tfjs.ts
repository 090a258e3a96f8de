/**
 * @module client/sync-groups/tfjs
 * Data-parallel training with TensorFlow.js over a sync group, like TensorFlow's
 * `MirroredStrategy`: every replica computes gradients on its own shard of each global batch
 * (`tf.variableGrads`), the group averages them (all-reduce `mean`, computed once by the server
 * in rank order), and every replica applies the same update with the same optimizer, so the
 * replicas' weights stay identical to the bit. Pure `@tensorflow/tfjs` (an optional peer
 * dependency of `tributary-sync`), on its CPU backend: the same kernels in Node and in browsers.
 *
 * A replica that joins late (or rejoins after a crash) rebuilds the weights from the group's
 * history before its first step: the latest checkpoint of the weights, then every step after it
 * (the broadcast of the initial weights, each averaged gradient), applied as the others did.
 *
 * Optimizer state is not checkpointed: use a stateless optimizer (`tf.train.sgd`) with
 * `checkpointEvery`, or replay from the first step (`checkpointEvery: 0`) for stateful ones.
 *
 * @example
 * const member = await client.joinSyncGroup('trainer', { minMembers: 3 });
 * const trainer = new MirroredTrainer(member, model, tf.train.sgd(0.1), { loss: tf.losses.meanSquaredError });
 * await trainer.sync();
 * for (let i = 0; i < 100; i++) await trainer.trainStep(({ rank, size, step }) => shardOf(step, rank, size));
 */
import * as tf from '@tensorflow/tfjs';
import { isTributaryError, TributaryError } from '../../errors.js';
import type { SyncStepResult, Tensor } from './step-reader.js';
import type { SyncGroupMember } from './sync-group.js';

/** Where a replica stands when it takes its shard of a global batch. */
export interface ShardContext {
  readonly rank: number;
  readonly size: number;
  /** The group's step number (the same on every replica). */
  readonly step: number;
}

export interface Batch {
  readonly xs: tf.Tensor;
  readonly ys: tf.Tensor;
}

export interface MirroredTrainerOptions {
  /** The loss, as `tf.losses.*` take it: `(labels, predictions) → scalar`. */
  readonly loss: (labels: tf.Tensor, predictions: tf.Tensor) => tf.Tensor;
  /**
   * Rank 0 stores the weights as a checkpoint before every step that is a multiple of this
   * (0: never; a joiner then replays every step). Default 0.
   */
  readonly checkpointEvery?: number;
}

export interface TrainStepResult {
  readonly step: number;
  /** This replica's loss on its shard, before the update. */
  readonly loss: number;
  readonly result: SyncStepResult;
}

/** How many times a step is sent again after an abort before giving up. */
const ABORTED_RETRIES_MAX = 100;

export class MirroredTrainer {
  readonly member: SyncGroupMember;
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly #options: MirroredTrainerOptions;

  constructor(
    member: SyncGroupMember,
    model: tf.LayersModel,
    optimizer: tf.Optimizer,
    options: MirroredTrainerOptions,
  ) {
    this.member = member;
    this.model = model;
    this.optimizer = optimizer;
    this.#options = options;
  }

  /**
   * Brings the weights in line with the other replicas: replays `member.history` (checkpoint,
   * then each step); in a group that has not run a step yet, broadcasts rank 0's initial weights.
   * `onStep` runs after each replayed step (to hash the weights, say).
   */
  async sync(onStep?: (step: number) => void): Promise<void> {
    const { checkpoint, steps } = this.member.history;
    if (checkpoint !== null) this.#setWeights(checkpoint.tensors);
    for (const step of steps) {
      this.#apply(step);
      onStep?.(step.step);
    }
    if (this.member.step === 0) {
      const result = await this.member.reduceStep(this.weights(), 'broadcast');
      this.#apply(result);
      onStep?.(result.step);
    }
  }

  /**
   * One data-parallel step: `shard` gives this replica's part of the step's global batch; the
   * averaged gradients are applied. A step aborted by a member leaving half-way is computed again
   * with the new rank and size.
   */
  async trainStep(shard: (context: ShardContext) => Batch): Promise<TrainStepResult> {
    for (let attempt = 0; ; attempt++) {
      const step = this.member.step;
      const every = this.#options.checkpointEvery ?? 0;
      if (every > 0 && step > 0 && step % every === 0 && this.member.rank === 0 && attempt === 0) {
        await this.member.checkpoint(this.weights());
      }
      const { xs, ys } = shard({ rank: this.member.rank, size: this.member.size, step });
      const { loss, gradients } = this.#gradients(xs, ys);
      try {
        const result = await this.member.reduceStep(gradients, 'mean');
        this.#apply(result);
        return { step, loss, result };
      } catch (error) {
        if (!isTributaryError(error, 'SYNC_GROUP_STEP_ABORTED') || attempt >= ABORTED_RETRIES_MAX)
          throw error;
      }
    }
  }

  /** Copies of the trainable weights, in the model's order. */
  weights(): Float32Array[] {
    return this.model.trainableWeights.map((w) => Float32Array.from(w.read().dataSync()));
  }

  #variables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  #gradients(xs: tf.Tensor, ys: tf.Tensor): { loss: number; gradients: Float32Array[] } {
    const variables = this.#variables();
    const { value, grads } = tf.variableGrads(
      () => this.#options.loss(ys, this.model.predict(xs) as tf.Tensor) as tf.Scalar,
      variables,
    );
    const loss = value.dataSync()[0] ?? Number.NaN;
    const gradients = variables.map((v) => Float32Array.from((grads[v.name] as tf.Tensor).dataSync()));
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    return { loss, gradients };
  }

  #apply(result: SyncStepResult): void {
    if (result.op === 'broadcast') this.#setWeights(result.tensors);
    else if (result.op === 'mean') this.#applyGradients(result.tensors);
  }

  #applyGradients(tensors: readonly Tensor[]): void {
    const variables = this.#variables();
    this.#checkShapes(tensors);
    const named: tf.NamedTensorMap = {};
    variables.forEach((v, i) => {
      named[v.name] = tf.tensor(tensors[i] as Float32Array, v.shape, 'float32');
    });
    this.optimizer.applyGradients(named);
    for (const t of Object.values(named)) t.dispose();
  }

  #setWeights(tensors: readonly Tensor[]): void {
    this.#checkShapes(tensors);
    this.model.trainableWeights.forEach((w, i) => {
      const value = tf.tensor(tensors[i] as Float32Array, w.shape as number[], 'float32');
      w.write(value);
      value.dispose();
    });
  }

  #checkShapes(tensors: readonly Tensor[]): void {
    const weights = this.model.trainableWeights;
    const fits =
      tensors.length === weights.length &&
      weights.every((w, i) => tensors[i]?.length === w.shape.reduce((a: number, b) => a * (b ?? 1), 1));
    if (!fits) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `the group's tensors do not fit the model's ${weights.length} trainable weights`,
      });
    }
  }
}
