/**
 * Data-parallel training with TensorFlow.js kept bit-identical by a sync group, the program
 * TensorFlow's MirroredStrategy guide starts from: a `Dense(1)` model learns y = 3x + 2 with 3
 * worker processes. Each step every worker computes gradients on its third of the global batch,
 * the group averages them (computed once by the server, in rank order, and appended to the
 * group's topic) and every worker applies the same update.
 *
 * On the way, one worker is SIGKILLed; the other two go on without it (a new generation), and
 * the worker started again rejoins: it replays the latest checkpoint and the steps after it,
 * then trains with the others. This program prints every step's weight hash with the workers
 * that reported it, and checks that:
 * - every worker's weights hash identically after every step (the rejoined one's replayed
 *   steps included), and the final weights are the same bits on all three;
 * - the model learned the true slope and intercept;
 * - its weights equal single-process training on the same global batches, within float tolerance.
 *
 * Run: `npm run example:mirrored` (`--short` for the quick run of the tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { SHORT, startLocalServer, timeLimit } from '../shared/run.js';
import {
  batchXs,
  cpuBackend,
  denseModel,
  GLOBAL_BATCH,
  LEARNING_RATE,
  TRUE_INTERCEPT,
  TRUE_SLOPE,
  weightsHash,
} from './model.js';

const REPLICAS = 3;
const STEPS = SHORT ? 40 : 150;
const KILL_AT = SHORT ? 10 : 40;
/** A pause between steps, so the two survivors do not run far ahead while the third restarts. */
const DELAY_MS = 10;
/** How close the learned line must be to the true one, and to single-process training. */
const LEARNED_TOLERANCE = 1e-3;
const REFERENCE_TOLERANCE = 1e-4;

interface StepLine {
  readonly event: 'step';
  readonly step: number;
  readonly rank: number;
  readonly size: number;
  readonly hash: string;
  readonly replayed: boolean;
  readonly weights: [number, number];
}
interface DoneLine {
  readonly event: 'done';
  readonly step: number;
  readonly weights: [number, number];
}

timeLimit(SHORT ? 150_000 : 400_000, 'mirrored');
await cpuBackend();
const server = await startLocalServer();
const reports = new Map<number, Map<string, StepLine>>();
const done = new Map<string, DoneLine>();
const exits: Promise<void>[] = [];
let killedAt = -1;
let rejoinedAt = -1;
let replayed = 0;

function startWorker(name: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      new URL('./worker.ts', import.meta.url).pathname,
      ...['--url', server.url, '--steps', String(STEPS), '--replicas', String(REPLICAS)],
      ...['--delay-ms', String(DELAY_MS)],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as StepLine | DoneLine;
    if (line.event === 'done') {
      done.set(name, line);
      return;
    }
    const byWorker = reports.get(line.step) ?? new Map<string, StepLine>();
    byWorker.set(name, line);
    reports.set(line.step, byWorker);
    if (line.replayed) replayed++;
    else if (name === 'w1*' && rejoinedAt < 0) rejoinedAt = line.step;
    if (name === 'w1' && line.step === KILL_AT && killedAt < 0) {
      killedAt = line.step;
      child.kill('SIGKILL');
      workers.push(startWorker('w1*'));
    }
  });
  exits.push(
    new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGKILL') console.error(`mirrored: worker ${name} exited with ${code}`);
        resolve();
      }),
    ),
  );
  return child;
}

const workers = ['w0', 'w1', 'w2'].map(startWorker);
// The restarted worker's exit joins the list while the others run: wait until it stops growing.
for (let seen = -1; seen < exits.length; ) {
  seen = exits.length;
  await Promise.all(exits.slice());
}
await server.close();

// Every step: one hash, whoever reported it.
let mismatches = 0;
for (const step of [...reports.keys()].sort((a, b) => a - b)) {
  const byWorker = reports.get(step)!;
  const hashes = new Set([...byWorker.values()].map((l) => l.hash));
  if (hashes.size !== 1) mismatches++;
  const who = [...byWorker.entries()]
    .map(([name, l]) => `${name}${l.replayed ? '(replayed)' : ''}`)
    .join(' ');
  console.log(`step ${String(step).padStart(4)}  ${[...hashes].join(' ≠ ')}  ×${byWorker.size}  ${who}`);
}

// Single-process training on the same global batches, from the same (broadcast) initial weights.
const reference = denseModel();
const initial = reports.get(0);
const finalStep = Math.max(...[...done.values()].map((d) => d.step));
const replicaWeights = [...done.values()].map((d) => d.weights);
const referenceWeights = await trainReference(reference, finalStep);

const failures: string[] = [];
if (done.size !== REPLICAS) failures.push(`${done.size} of ${REPLICAS} workers finished`);
if (mismatches > 0) failures.push(`${mismatches} steps where the replicas' hashes differ`);
if (killedAt < 0 || rejoinedAt < 0) failures.push('the killed worker did not rejoin');
if (initial === undefined) failures.push('no report of step 0');
const finalHashes = new Set(replicaWeights.map((w) => weightsHash(w.map((x) => Float32Array.of(x)))));
if (finalHashes.size !== 1) failures.push('the final weights differ between replicas');
const [slope = Number.NaN, intercept = Number.NaN] = replicaWeights[0] ?? [];
if (
  Math.abs(slope - TRUE_SLOPE) > LEARNED_TOLERANCE ||
  Math.abs(intercept - TRUE_INTERCEPT) > LEARNED_TOLERANCE
) {
  failures.push(`learned y = ${slope}x + ${intercept}, not ${TRUE_SLOPE}x + ${TRUE_INTERCEPT}`);
}
const referenceGap = Math.max(
  Math.abs(slope - referenceWeights[0]),
  Math.abs(intercept - referenceWeights[1]),
);
if (!(referenceGap <= REFERENCE_TOLERANCE)) {
  failures.push(`single-process training gives ${referenceWeights.join(', ')} (off by ${referenceGap})`);
}
if (failures.length > 0) {
  console.error(`mirrored: FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log(
  `mirrored: OK, ${REPLICAS} replicas bit-identical after each of ${reports.size} steps ` +
    `(final hash ${[...finalHashes][0]}); w1 SIGKILLed after step ${killedAt}, restarted, replayed ${replayed} ` +
    `steps and trained from step ${rejoinedAt}; learned y = ${slope.toFixed(4)}x + ${intercept.toFixed(4)}, ` +
    `within ${referenceGap.toExponential(1)} of single-process training`,
);
process.exit(0);

/** Plain SGD on each step's whole global batch, starting from the broadcast weights of step 0. */
async function trainReference(model: tf.Sequential, last: number): Promise<[number, number]> {
  const start = await initialWeights();
  model.setWeights([tf.tensor2d([start[0]], [1, 1]), tf.tensor1d([start[1]])]);
  const optimizer = tf.train.sgd(LEARNING_RATE);
  for (let step = 1; step <= last; step++) {
    const xsValues = batchXs(step);
    const xs = tf.tensor2d(xsValues, [GLOBAL_BATCH, 1]);
    const ys = tf.tensor2d(
      xsValues.map((x) => TRUE_SLOPE * x + TRUE_INTERCEPT),
      [GLOBAL_BATCH, 1],
    );
    optimizer.minimize(() => tf.losses.meanSquaredError(ys, model.predict(xs) as tf.Tensor) as tf.Scalar);
    xs.dispose();
    ys.dispose();
  }
  const [kernel, bias] = model.getWeights();
  return [kernel!.dataSync()[0]!, bias!.dataSync()[0]!];
}

/** The weights rank 0 broadcast at step 0, as the workers reported them. */
async function initialWeights(): Promise<[number, number]> {
  const first = initial?.values().next().value;
  return first === undefined ? [Number.NaN, Number.NaN] : first.weights;
}
