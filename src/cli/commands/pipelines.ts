/**
 * @module cli/commands/pipelines
 * `tributary pipelines list|stop|resume|reset|replay`: the stream-processing pipelines a server
 * holds (`tributary-sync/processing`), read over the HTTP API from what they write there (their
 * consumer group, their tasks' progress records and their control record; processing/overview).
 *
 * - `list`: per source partition, the committed offset, the end, the lag, the rate (records/s
 *   between two readings `--interval` apart), the watermark and the counters.
 * - `stop` / `resume`: write the control record every worker follows (processing/control);
 *   `stop` waits until no worker is left in the group.
 * - `reset --to earliest|latest|<offset>|<time>`: on a stopped pipeline with no worker in its
 *   group, deletes its state (the tasks, snapshots and changelog topics) and moves its group's offsets, in
 *   one atomic commit with the control record; it stays stopped. A stage with a join of two
 *   topics (the second topic named in its control topic's `inputs` record) also gets a progress
 *   record per task placing the second topic consistently with the source (`secondTopicTargets`).
 * - `replay [--from …]`: stop, reset, resume, and a progress bar until the pipeline has caught
 *   up with what the source held when the replay began.
 *
 * A pipeline with `repartition()` steps runs as stages, each a pipeline of its own reading the
 * topic the one before writes (processing/stages). `stop`, `resume`, `reset` and `replay` of the
 * pipeline act on every stage: a later stage is reset to the end of its repartition topic with
 * empty state, so it sees exactly what the first stage writes from its new position; a replay
 * shows a progress bar per stage. A later stage named alone can be stopped and resumed, not
 * reset.
 *
 * @example
 * tributary pipelines list
 * tributary pipelines replay sales-per-minute --from earliest
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { TopicDescription } from '../../broker/types.js';
import {
  CONTROL_KEY,
  type ControlState,
  controlValue,
  INPUTS_KEY,
  parseInputs,
  type StageInputs,
} from '../../processing/control.js';
import {
  describePipeline,
  describePipelines,
  type GroupView,
  type PipelineOverview,
  type PipelineReader,
} from '../../processing/overview.js';
import { type LaterStage, laterStagesIn, pipelineOfStage } from '../../processing/stages.js';
import { resetProgress } from '../../processing/task.js';
import { controlTopic, groupOf, snapshotsTopic, TASK_KEY, tasksTopic } from '../../processing/topics.js';
import {
  addUrlOption,
  apiRequest,
  CliError,
  EXIT_USAGE,
  intParser,
  type ServerOptions,
  type ServerTarget,
} from '../api.js';
import { table } from '../format.js';
import { Progress } from '../progress.js';

const POLL_MS = 250;

export function registerPipelinesCommand(program: Command): void {
  const pipelines = program
    .command('pipelines')
    .description(
      'List stream-processing pipelines with lag, rate and watermark; stop, resume, reset and replay them.',
    );

  addUrlOption(
    pipelines
      .command('list')
      .description('List the pipelines, one row per source partition.')
      .option(
        '--interval <ms>',
        'time between the two readings the rate is taken from (0: one reading, no rate)',
        intParser(0, 'The interval'),
        1000,
      )
      .option('--json', 'print the pipelines as JSON'),
  ).action(async (options: ServerOptions & { interval: number; json?: boolean }) => {
    const reader = httpReader(options.server);
    const first = await describePipelines(reader);
    let rates = new Map<string, number>();
    if (options.interval > 0) {
      const startedAt = Date.now();
      await sleep(options.interval);
      const second = await describePipelines(reader);
      rates = ratesBetween(first, second, (Date.now() - startedAt) / 1000);
      first.splice(0, first.length, ...second);
    }
    if (options.json) {
      const withRates = first.map((p) => ({
        ...p,
        partitions: p.partitions.map((x) => ({
          ...x,
          rate: rates.get(`${p.pipeline}/${x.partition}`) ?? null,
        })),
      }));
      print(JSON.stringify(withRates, null, 2));
      return;
    }
    if (first.length === 0) {
      print('No pipelines.');
      return;
    }
    const rows: string[][] = [];
    for (const p of first) {
      if (p.partitions.length === 0)
        rows.push([p.pipeline, p.control, String(p.workers), '-', '-', '-', '-', '-', '-', '-', '-']);
      for (const x of p.partitions) {
        const rate = rates.get(`${p.pipeline}/${x.partition}`);
        rows.push([
          p.pipeline,
          p.control,
          String(p.workers),
          `${p.source ?? '?'}/${x.partition}`,
          show(x.committed),
          show(x.end),
          show(x.lag),
          rate === undefined ? '-' : rate.toFixed(1),
          x.watermark === null ? '-' : new Date(x.watermark).toISOString(),
          String(x.processed),
          String(x.late),
        ]);
      }
    }
    print(
      table(
        [
          'PIPELINE',
          'STATE',
          'WORKERS',
          'PARTITION',
          'COMMITTED',
          'END',
          'LAG',
          'RATE/S',
          'WATERMARK',
          'PROCESSED',
          'LATE',
        ],
        rows,
      ),
    );
  });

  addUrlOption(
    pipelines
      .command('stop <name>')
      .description('Stop a pipeline: its workers leave its group and hold nothing until resumed.')
      .option(
        '--timeout <ms>',
        'how long to wait for the workers to leave',
        intParser(0, 'The timeout'),
        30_000,
      ),
  ).action(async (name: string, options: ServerOptions & { timeout: number }) => {
    const reader = httpReader(options.server);
    await existing(reader, name);
    const stages = await stageNames(options.server, name);
    for (const stage of stages) await writeControl(options.server, stage, 'stopped');
    for (const stage of stages) await waitForNoWorkers(reader, stage, options.timeout);
    print(`Stopped pipeline "${name}"${laterStagesText(stages)}.`);
  });

  addUrlOption(
    pipelines
      .command('resume <name>')
      .description('Resume a stopped pipeline: its workers join its group again.'),
  ).action(async (name: string, options: ServerOptions) => {
    await existing(httpReader(options.server), name);
    const stages = await stageNames(options.server, name);
    // Later stages first: each is reading when the stage before it writes again.
    for (const stage of [...stages].reverse()) await writeControl(options.server, stage, 'running');
    print(`Resumed pipeline "${name}"${laterStagesText(stages)}.`);
  });

  addUrlOption(
    pipelines
      .command('reset <name>')
      .description("Forget a stopped pipeline's state and move it to a source position (it stays stopped).")
      .requiredOption(
        '--to <position>',
        'earliest, latest, an offset (the same in every partition, clamped to it) or an ISO 8601 time',
        parsePosition,
      ),
  ).action(async (name: string, options: ServerOptions & { to: Position }) => {
    const reader = httpReader(options.server);
    const pipeline = await existing(reader, name);
    const { targets, second, later } = await reset(options.server, reader, pipeline, options.to);
    print(
      `Reset pipeline "${name}": ${targets.map((t) => `${pipeline.source}/${t.partition} at ${t.offset}`).join(', ')}${secondText(second)}${later.map((s) => `; stage ${s.stage} at the end of ${s.source}${secondText(s.second)}`).join('')}. Resume it to run.`,
    );
  });

  addUrlOption(
    pipelines
      .command('replay <name>')
      .description('Stop, reset to --from, resume, and show progress until the pipeline catches up.')
      .option(
        '--from <position>',
        'earliest, latest, an offset or an ISO 8601 time',
        parsePosition,
        'earliest' as Position,
      )
      .option(
        '--timeout <ms>',
        'how long to wait for the workers to stop, and then to catch up',
        intParser(0, 'The timeout'),
        600_000,
      ),
  ).action(async (name: string, options: ServerOptions & { from: Position; timeout: number }) => {
    const reader = httpReader(options.server);
    const startedAt = Date.now();
    await existing(reader, name);
    refuseLaterStage(name);
    const stages = await stageNames(options.server, name);
    for (const stage of stages) await writeControl(options.server, stage, 'stopped');
    for (const stage of stages) await waitForNoWorkers(reader, stage, options.timeout);
    const pipeline = await existing(reader, name);
    const { targets, later } = await reset(options.server, reader, pipeline, options.from);
    for (const stage of [...stages].reverse()) await writeControl(options.server, stage, 'running');
    const deadline = Date.now() + options.timeout;
    const total = targets.reduce((n, t) => n + (t.end - t.offset), 0);
    await follow(
      name,
      total,
      (n) => `${n} records`,
      deadline,
      async () => {
        const now = await describePipeline(reader, name);
        const reached = targets.reduce((n, t) => {
          const committed = now?.partitions.find((x) => x.partition === t.partition)?.committed ?? t.offset;
          return n + Math.min(t.end, Math.max(t.offset, committed)) - t.offset;
        }, 0);
        return { reached, done: reached >= total };
      },
    );
    // The first stage has committed everything it will write: each later stage now has a fixed end.
    for (const stage of later) await followLaterStage(options.server, reader, stage, deadline);
    const seconds = (Date.now() - startedAt) / 1000;
    print(
      `Replayed pipeline "${name}": ${total} records in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} records/s)${laterStagesText(stages)}.`,
    );
  });
}

/**
 * A progress bar labelled `label` until `poll` says done (or `deadline` passes: an error);
 * `poll` returns the work done so far, out of `total`.
 */
async function follow(
  label: string,
  total: number,
  format: (n: number) => string,
  deadline: number,
  poll: () => Promise<{ reached: number; done: boolean }>,
): Promise<void> {
  const progress = new Progress(total, process.stderr, format);
  progress.setLabel(label);
  let done = 0;
  for (;;) {
    const now = await poll();
    const reached = now.done ? total : Math.min(total, now.reached);
    if (reached > done) {
      progress.advance(reached - done);
      done = reached;
    }
    if (now.done) break;
    if (Date.now() > deadline) {
      progress.done();
      throw new CliError(
        `Replay of "${label}" not caught up in time: ${done} of ${format(total)} (are its workers running?)`,
      );
    }
    await sleep(POLL_MS);
  }
  progress.done();
}

/**
 * Follows a later stage until it has processed every committed record of its repartition topic
 * (its committed offset may stay one short of the end: the marker of the last atomic commit,
 * never delivered). The bar counts offsets of that topic since the reset, markers included.
 */
async function followLaterStage(
  server: ServerTarget,
  reader: PipelineReader,
  stage: ResetStage,
  deadline: number,
): Promise<void> {
  const ends = await partitionRanges(server, stage.source);
  const total = stage.targets.reduce((n, t) => n + (ends.get(t.partition)!.next - t.offset), 0);
  await follow(
    stage.stage,
    total,
    (n) => `${n} offsets`,
    deadline,
    async () => {
      const now = await describePipeline(reader, stage.stage);
      let reached = 0;
      let done = true;
      for (const t of stage.targets) {
        const committed = Math.max(
          t.offset,
          now?.partitions.find((x) => x.partition === t.partition)?.committed ?? t.offset,
        );
        reached += Math.min(ends.get(t.partition)!.next, committed) - t.offset;
        if (done && (await committedRecordsFrom(server, stage.source, t.partition, committed))) done = false;
      }
      return { reached, done };
    },
  );
}

/** Whether `topic`'s partition holds a committed record at or after `offset`. */
async function committedRecordsFrom(
  server: ServerTarget,
  topic: string,
  partition: number,
  offset: number,
): Promise<boolean> {
  const page = await apiRequest<{ records: unknown[] }>(
    server,
    'GET',
    `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?offset=${offset}&max=1&isolation=committed`,
  );
  return page.records.length > 0;
}

/** Where a reset moves the source: its ends, an offset, or the first record at or after a time (ms). */
type Position = 'earliest' | 'latest' | number | { readonly time: number };

function parsePosition(value: string): Position {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  const time = Date.parse(value);
  if (/^\d{4}-\d\d-\d\d/.test(value) && Number.isFinite(time) && time >= 0) return { time };
  throw new InvalidArgumentError(
    'A position is earliest, latest, an offset (a non-negative integer) or an ISO 8601 time (2026-12-07T16:00:00Z).',
  );
}

/** The pipeline, or a usage error naming the pipelines there are. */
async function existing(reader: PipelineReader, name: string): Promise<PipelineOverview> {
  const pipeline = await describePipeline(reader, name);
  if (pipeline !== undefined && pipeline.source !== null) return pipeline;
  const names = (await describePipelines(reader)).map((p) => p.pipeline);
  throw new CliError(
    `No pipeline "${name}" on this server (pipelines: ${names.length === 0 ? 'none' : names.join(', ')}).`,
    EXIT_USAGE,
  );
}

/** The pipeline's stages, first (the pipeline itself) to last. */
async function stageNames(server: ServerTarget, name: string): Promise<string[]> {
  return [name, ...(await laterStages(server, name)).map((s) => s.stage)];
}

async function laterStages(server: ServerTarget, name: string): Promise<LaterStage[]> {
  const { topics } = await apiRequest<{ topics: TopicDescription[] }>(server, 'GET', '/v1/topics');
  return laterStagesIn(
    name,
    topics.map((t) => t.name),
  );
}

function laterStagesText(stages: readonly string[]): string {
  return stages.length > 1 ? ` and its later stages ${stages.slice(1).join(', ')}` : '';
}

/** A later stage alone cannot be reset: its input would no longer match the stage before it. */
function refuseLaterStage(name: string): void {
  const first = pipelineOfStage(name);
  if (first === undefined) return;
  throw new CliError(
    `"${name}" is a later stage of pipeline "${first}" (after a repartition step): reset or replay "${first}", which resets every stage.`,
    EXIT_USAGE,
  );
}

async function partitionRanges(
  server: ServerTarget,
  topic: string,
): Promise<Map<number, { earliest: number; next: number }>> {
  const description = await apiRequest<TopicDescription>(
    server,
    'GET',
    `/v1/topics/${encodeURIComponent(topic)}`,
  );
  return new Map(description.partitions.map((p) => [p.partition, { earliest: p.earliest, next: p.next }]));
}

async function writeControl(server: ServerTarget, name: string, state: ControlState): Promise<void> {
  await apiRequest(server, 'POST', `/v1/topics/${encodeURIComponent(controlTopic(name))}/records`, {
    records: [{ key: CONTROL_KEY, value: controlValue(state) }],
  });
}

async function waitForNoWorkers(reader: PipelineReader, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pipeline = await describePipeline(reader, name);
    if (pipeline === undefined || pipeline.workers === 0) return;
    if (Date.now() > deadline) {
      throw new CliError(
        `Pipeline "${name}" still has ${pipeline.workers} worker(s) in its group after ${timeoutMs} ms.`,
      );
    }
    await sleep(POLL_MS);
  }
}

interface ResetTarget {
  readonly partition: number;
  readonly offset: number;
  /** The partition's end when reset (what a replay has to reach). */
  readonly end: number;
}

/** Where a join's second topic was reset to, per partition. */
interface SecondTopicReset {
  readonly topic: string;
  readonly targets: ReadonlyMap<number, number>;
}

/** Where a later stage was reset to: the end of its repartition topic, per partition. */
interface ResetStage extends LaterStage {
  readonly targets: readonly { readonly partition: number; readonly offset: number }[];
  readonly second: SecondTopicReset | undefined;
}

/**
 * Deletes the state topics of the pipeline and of its later stages, then commits each later
 * stage's group offsets at the end of its repartition topic (with its control record, still
 * `stopped`), and last the pipeline's own group offsets with its control record: one atomic
 * commit per stage. Workers create the state topics again when resumed; a task without progress
 * record starts at its group's offset with empty state. A later stage thus reads just what the
 * first writes from its new position (the first stage's earlier outputs are behind it). A stage
 * reading a second topic gets its tasks topic back at once, with each task's progress record
 * (source and second topic positions, nothing processed) in the stage's commit.
 */
async function reset(
  server: ServerTarget,
  reader: PipelineReader,
  pipeline: PipelineOverview,
  to: Position,
): Promise<{ targets: ResetTarget[]; second: SecondTopicReset | undefined; later: ResetStage[] }> {
  const name = pipeline.pipeline;
  refuseLaterStage(name);
  if (pipeline.control !== 'stopped' || pipeline.workers > 0) {
    throw new CliError(
      `Pipeline "${name}" is ${pipeline.control} with ${pipeline.workers} worker(s) in its group: stop it first (tributary pipelines stop ${name}).`,
      EXIT_USAGE,
    );
  }
  const stages = await laterStages(server, name);
  for (const { stage } of stages) {
    const overview = await describePipeline(reader, stage);
    if (overview !== undefined && (overview.control !== 'stopped' || overview.workers > 0)) {
      throw new CliError(
        `Stage "${stage}" of pipeline "${name}" is ${overview.control} with ${overview.workers} worker(s) in its group: stop the pipeline first (tributary pipelines stop ${name}).`,
        EXIT_USAGE,
      );
    }
  }
  const source = pipeline.source!;
  const ranges = await partitionRanges(server, source);
  const targets: ResetTarget[] = [];
  for (const [partition, p] of ranges) {
    const offset =
      to === 'earliest'
        ? p.earliest
        : to === 'latest'
          ? p.next
          : typeof to === 'number'
            ? Math.min(p.next, Math.max(p.earliest, to))
            : await offsetAtTime(server, source, partition, to.time);
    targets.push({ partition, offset, end: p.next });
  }
  const second = await secondTopicReset(server, name, source, ranges, targets, to);
  const later: ResetStage[] = [];
  for (const stage of stages) {
    const ends = await partitionRanges(server, stage.source);
    const stageTargets = [...ends].map(([partition, p]) => ({ partition, offset: p.next }));
    const stageSecond = await secondTopicReset(
      server,
      stage.stage,
      stage.source,
      ends,
      stageTargets,
      'latest',
    );
    later.push({ ...stage, targets: stageTargets, second: stageSecond });
  }
  const { topics } = await apiRequest<{ topics: TopicDescription[] }>(server, 'GET', '/v1/topics');
  const names = topics.map((t) => t.name);
  const state = [name, ...stages.map((s) => s.stage)].flatMap((stage) => [
    ...names.filter((t) => t === tasksTopic(stage) || t === snapshotsTopic(stage)),
    ...stateTopicsOf(stage, names),
  ]);
  for (const topic of state) await apiRequest(server, 'DELETE', `/v1/topics/${encodeURIComponent(topic)}`);
  const marker = { reset: { to, at: Date.now() } };
  // The first stage last: until its commit, a repeated reset finds it where it was.
  for (const stage of later) {
    await commitReset(server, stage.stage, stage.source, stage.targets, stage.second, marker);
  }
  await commitReset(server, name, source, targets, second, marker);
  return { targets, second, later };
}

/**
 * For a stage whose join reads a second topic (its `inputs` record names one, for this source):
 * where that topic starts, per partition, so that both inputs start at the same point.
 * - `earliest` / `latest`: the second topic's earliest / end;
 * - a time: the first record at or after it, in both topics;
 * - an offset: the source's offset is turned into a time, the timestamp of the source's record
 *   there (of the first one after it), and the second topic starts at its first record at or
 *   after that time; at the source's earliest it starts at its earliest, at the source's end at
 *   its end (offsets of two topics say nothing about each other; their records' times do).
 */
async function secondTopicReset(
  server: ServerTarget,
  stage: string,
  source: string,
  sourceRanges: ReadonlyMap<number, { earliest: number; next: number }>,
  targets: readonly { readonly partition: number; readonly offset: number }[],
  to: Position,
): Promise<SecondTopicReset | undefined> {
  const inputs = await recordedInputs(server, stage);
  if (inputs?.secondTopic == null || inputs.source !== source) return undefined;
  const topic = inputs.secondTopic;
  const ranges = await partitionRanges(server, topic);
  const out = new Map<number, number>();
  for (const { partition, offset } of targets) {
    const range = ranges.get(partition);
    const from = sourceRanges.get(partition)!;
    if (range === undefined) {
      throw new CliError(
        `Pipeline "${stage}" joins ${source} with ${topic}, which has no partition ${partition}: they must be co-partitioned.`,
      );
    }
    let position: number;
    if (to === 'earliest') position = range.earliest;
    else if (to === 'latest') position = range.next;
    else if (typeof to === 'object') position = await offsetAtTime(server, topic, partition, to.time);
    else if (offset <= from.earliest) position = range.earliest;
    else if (offset >= from.next) position = range.next;
    else {
      const time = await timestampAt(server, source, partition, offset);
      position = time === undefined ? range.next : await offsetAtTime(server, topic, partition, time);
    }
    out.set(partition, position);
  }
  return { topic, targets: out };
}

/** The topics the stage's workers recorded they read (the `inputs` record of its control topic). */
async function recordedInputs(server: ServerTarget, stage: string): Promise<StageInputs | undefined> {
  const topic = encodeURIComponent(controlTopic(stage));
  let inputs: StageInputs | undefined;
  let from = ''; // the first page from the partition's earliest offset
  for (;;) {
    let page: { records: { key: string | null; value: unknown }[]; next: number };
    try {
      page = await apiRequest(
        server,
        'GET',
        `/v1/topics/${topic}/partitions/0/records?max=1000&isolation=committed${from}`,
      );
    } catch (error) {
      if (error instanceof CliError && error.message.startsWith('TOPIC_NOT_FOUND')) return undefined;
      throw error;
    }
    for (const r of page.records) if (r.key === INPUTS_KEY) inputs = parseInputs(r.value);
    if (page.records.length === 0) return inputs;
    from = `&offset=${page.next}`;
  }
}

/** The first offset of `topic`'s partition whose record's timestamp is at or after `time` (its end if none). */
async function offsetAtTime(
  server: ServerTarget,
  topic: string,
  partition: number,
  time: number,
): Promise<number> {
  const page = await apiRequest<{ records: { offset: number }[]; next: number }>(
    server,
    'GET',
    `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?timestamp=${Math.trunc(time)}&max=1`,
  );
  return page.records[0]?.offset ?? page.next;
}

/** The timestamp of the record of `topic`'s partition at `offset` (or the first after it). */
async function timestampAt(
  server: ServerTarget,
  topic: string,
  partition: number,
  offset: number,
): Promise<number | undefined> {
  const page = await apiRequest<{ records: { timestamp: number }[] }>(
    server,
    'GET',
    `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?offset=${offset}&max=1`,
  );
  return page.records[0]?.timestamp;
}

function secondText(second: SecondTopicReset | undefined): string {
  if (second === undefined) return '';
  return `, ${[...second.targets].map(([partition, offset]) => `${second.topic}/${partition} at ${offset}`).join(', ')}`;
}

/** The changelogs of `stage`'s stateful steps, `<stage>.<step>.changelog` (names have no dots). */
function stateTopicsOf(stage: string, topics: readonly string[]): string[] {
  const prefix = `${stage}.`;
  const suffix = '.changelog';
  return topics.filter(
    (t) =>
      t.startsWith(prefix) && t.endsWith(suffix) && !t.slice(prefix.length, -suffix.length).includes('.'),
  );
}

/**
 * The group's new offsets of `source` with the stage's control record (`stopped`), in one atomic
 * commit; with a second topic, also each task's progress record (its tasks topic created again).
 */
async function commitReset(
  server: ServerTarget,
  stage: string,
  source: string,
  targets: readonly { readonly partition: number; readonly offset: number }[],
  second: SecondTopicReset | undefined,
  marker: object,
): Promise<void> {
  const progress = [];
  if (second !== undefined) {
    // As the workers create it (processing/topics prepareTopics): compacted, one partition per task.
    await apiRequest(server, 'POST', '/v1/topics', {
      name: tasksTopic(stage),
      partitions: targets.length,
      compact: true,
    });
    for (const t of targets) {
      progress.push({
        topic: tasksTopic(stage),
        partition: t.partition,
        records: [{ key: TASK_KEY, value: resetProgress(t.offset, second.targets.get(t.partition)!) }],
      });
    }
  }
  await apiRequest(server, 'POST', '/v1/commit', {
    appends: [
      ...progress,
      {
        topic: controlTopic(stage),
        records: [{ key: CONTROL_KEY, value: { ...controlValue('stopped'), ...marker } }],
      },
    ],
    offsets: {
      groupId: groupOf(stage),
      offsets: targets.map((t) => ({ topic: source, partition: t.partition, offset: t.offset })),
    },
  });
}

/** Records per second per `pipeline/partition` between two readings `seconds` apart. */
function ratesBetween(
  before: readonly PipelineOverview[],
  after: readonly PipelineOverview[],
  seconds: number,
): Map<string, number> {
  const rates = new Map<string, number>();
  for (const p of after) {
    const earlier = before.find((b) => b.pipeline === p.pipeline);
    for (const x of p.partitions) {
      const then = earlier?.partitions.find((b) => b.partition === x.partition);
      if (then === undefined || seconds <= 0) continue;
      rates.set(`${p.pipeline}/${x.partition}`, Math.max(0, x.processed - then.processed) / seconds);
    }
  }
  return rates;
}

/** Reads the overview through the HTTP API. */
function httpReader(server: ServerTarget): PipelineReader {
  return {
    groups: async () => (await apiRequest<{ groups: GroupView[] }>(server, 'GET', '/v1/groups')).groups,
    lastValue: async (topic, partition, key) => {
      let description: TopicDescription;
      try {
        description = await apiRequest<TopicDescription>(
          server,
          'GET',
          `/v1/topics/${encodeURIComponent(topic)}`,
        );
      } catch (error) {
        if (error instanceof CliError && error.message.startsWith('TOPIC_NOT_FOUND')) return undefined;
        throw error;
      }
      const range = description.partitions.find((p) => p.partition === partition);
      if (range === undefined) return undefined;
      // Each commit writes one record and a commit marker: the last few offsets hold the newest.
      let value: unknown;
      let offset = Math.max(range.earliest, range.next - 16);
      while (offset < range.next) {
        const page = await apiRequest<{ records: { key: string | null; value: unknown }[]; next: number }>(
          server,
          'GET',
          `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?offset=${offset}&max=1000&isolation=committed`,
        );
        for (const r of page.records) if (r.key === key) value = r.value;
        if (page.records.length === 0 || page.next <= offset) break;
        offset = page.next;
      }
      return value;
    },
  };
}

function show(n: number | null): string {
  return n === null ? '-' : String(n);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
