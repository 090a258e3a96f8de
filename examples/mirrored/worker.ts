/**
 * One replica of the mirrored example: joins the sync group, brings its weights in line with the
 * others (the initial broadcast, or the checkpoint and the steps after it when it rejoins), then
 * trains on its shard of each global batch. After every step it prints the hash of its weights;
 * it stops after step `--steps` once all three replicas took part in a step, and prints its final
 * weights.
 *
 * Output (JSON lines): `{"event":"step","step":n,"rank":r,"size":s,"hash":"…","replayed":bool}`,
 * `{"event":"done","step":n,"weights":[slope, intercept]}`.
 */
import * as tf from '@tensorflow/tfjs';
import { connect } from '../../src/client/node/index.js';
import { MirroredTrainer } from '../../src/client/sync-groups/tfjs.js';
import { cpuBackend, denseModel, LEARNING_RATE, shard, weightsHash } from './model.js';

const arg = (name: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : process.argv[at + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};

const url = arg('url');
const steps = Number(arg('steps'));
const replicas = Number(arg('replicas'));
const delayMs = Number(arg('delay-ms'));

await cpuBackend();
const model = denseModel();
// Each replica starts from its own random weights: the first step broadcasts rank 0's.
const client = await connect({ url, reconnect: false });
const member = await client.joinSyncGroup('mirrored', { minMembers: replicas, stepTimeoutMs: 20_000 });
const trainer = new MirroredTrainer(member, model, tf.train.sgd(LEARNING_RATE), {
  loss: tf.losses.meanSquaredError,
  checkpointEvery: 10,
});
const print = (step: number, replayed: boolean): void => {
  const weights = trainer.weights();
  const hash = weightsHash(weights);
  const values = weights.map((w) => w[0]);
  console.log(
    JSON.stringify({
      event: 'step',
      step,
      rank: member.rank,
      size: member.size,
      hash,
      replayed,
      weights: values,
    }),
  );
};
await trainer.sync((step) =>
  print(
    step,
    member.history.steps.some((h) => h.step === step),
  ),
);

// Every replica sees the same step results, so they all stop after the same step.
for (;;) {
  const { step, result } = await trainer.trainStep(({ rank, size, step }) => shard(step, rank, size));
  print(step, false);
  if (step >= steps && result.end.contributors.length === replicas) break;
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
}
const [kernel, bias] = trainer.weights();
console.log(JSON.stringify({ event: 'done', step: member.step - 1, weights: [kernel?.[0], bias?.[0]] }));
await member.leave();
await client.close();
