/**
 * @module processing/control
 * Stopping and resuming a pipeline from outside its workers: the compacted topic
 * `<pipeline>.control` (one partition) holds the operator's last word under the key `state`,
 * `{"state":"stopped"}` or `{"state":"running"}`. Every worker follows it: on `stopped` it leaves
 * the consumer group and stops its sink (the process stays up, holding nothing), on `running` it
 * joins again from the committed state. A worker started while the pipeline is stopped waits.
 * The record is in the log, so `tributary pipelines stop` needs no worker to be reachable, and
 * a worker that was down when it was written obeys it when it starts.
 *
 * Beside it, under the key `inputs`, each worker records the topics its stage reads (the
 * source and the second topic of a join of two topics; `registerInputs`) when they differ from
 * the record there: `tributary pipelines reset` learns from it which second topic to move with
 * the source.
 *
 * @example
 * const watch = await watchControl(client, 'sales-per-minute', (state) => console.log(state));
 * await watch.close();
 */
import type { TributaryClient } from '../client/client.js';
import type { Consumer } from '../client/consumer.js';
import { controlTopic, createTopicIfAbsent, readCommitted } from './topics.js';

/** The key of the control record in `<pipeline>.control`. */
export const CONTROL_KEY = 'state';

export type ControlState = 'running' | 'stopped';

/** The key of the record in `<pipeline>.control` naming the topics the stage reads. */
export const INPUTS_KEY = 'inputs';

/** The topics a stage reads, as its workers record them under `INPUTS_KEY`. */
export interface StageInputs {
  /** The source topic; null for an event-stream or change-feed source. */
  readonly source: string | null;
  /** The second topic of a join of two topics, if any. */
  readonly secondTopic: string | null;
}

/** The inputs a record value names, or undefined when it is not such a value. */
export function parseInputs(value: unknown): StageInputs | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { source, secondTopic } = value as { source?: unknown; secondTopic?: unknown };
  const nameOrNull = (x: unknown) => x === null || typeof x === 'string';
  if (!nameOrNull(source) || !nameOrNull(secondTopic)) return undefined;
  return { source: source as string | null, secondTopic: secondTopic as string | null };
}

/** The state a control record's value says; anything but `stopped` (or no record) is running. */
export function parseControl(value: unknown): ControlState {
  return typeof value === 'object' && value !== null && (value as { state?: unknown }).state === 'stopped'
    ? 'stopped'
    : 'running';
}

/** The record value that sets `state`. */
export function controlValue(state: ControlState): { state: ControlState; at: number } {
  return { state, at: Date.now() };
}

export interface ControlWatch {
  /** The state as of the last control record read. */
  readonly state: ControlState;
  /** The inputs recorded when the watch started (`INPUTS_KEY`), if any. */
  readonly inputs: StageInputs | undefined;
  close(): Promise<void>;
}

const DECODER = new TextDecoder();

function decodeState(key: Uint8Array | null, value: Uint8Array | null): ControlState | undefined {
  if (key === null || DECODER.decode(key) !== CONTROL_KEY) return undefined;
  if (value === null) return 'running';
  try {
    return parseControl(JSON.parse(DECODER.decode(value)));
  } catch {
    return undefined; // not ours to judge: a control record that is not JSON changes nothing
  }
}

function decodeInputs(value: Uint8Array | null): StageInputs | undefined {
  if (value === null) return undefined;
  try {
    return parseInputs(JSON.parse(DECODER.decode(value)));
  } catch {
    return undefined;
  }
}

/**
 * Records `inputs` under `INPUTS_KEY` unless `recorded` (what the control topic holds) says the
 * same: written once per change of the stage's inputs, so the control record stays among the
 * topic's last few offsets, where `tributary pipelines list` looks for it.
 */
export async function registerInputs(
  client: TributaryClient,
  pipeline: string,
  recorded: StageInputs | undefined,
  inputs: StageInputs,
): Promise<void> {
  if (recorded?.source === inputs.source && recorded.secondTopic === inputs.secondTopic) return;
  await client.commitAtomically({
    appends: [
      {
        topic: controlTopic(pipeline),
        partition: 0,
        records: [{ key: INPUTS_KEY, value: JSON.stringify(inputs) }],
      },
    ],
  });
}

/**
 * Creates the control topic if absent, reads its current state (resolved in `watch.state`),
 * then calls `onChange` for every later change (`onError` if following the topic fails).
 */
export async function watchControl(
  client: TributaryClient,
  pipeline: string,
  onChange: (state: ControlState) => void,
  onError: (error: unknown) => void,
): Promise<ControlWatch> {
  const topic = controlTopic(pipeline);
  await createTopicIfAbsent(client, topic, { partitions: 1, compact: true });
  let state: ControlState = 'running';
  let inputs: StageInputs | undefined;
  const last = await readCommitted(client, topic, 0, (records) => {
    for (const r of records) {
      state = decodeState(r.key, r.value) ?? state;
      if (r.key !== null && DECODER.decode(r.key) === INPUTS_KEY) inputs = decodeInputs(r.value);
    }
  });
  const consumer: Consumer = client.consumer({ topic, from: { offset: last + 1 }, isolation: 'committed' });
  consumer.on('records', (records) => {
    for (const r of records) {
      const next = decodeState(r.key, r.value);
      if (next === undefined || next === state) continue;
      state = next;
      onChange(next);
    }
  });
  consumer.on('error', onError);
  return {
    get state() {
      return state;
    },
    inputs,
    close: () => consumer.close(),
  };
}
