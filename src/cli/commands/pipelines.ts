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
 * - `reset --to earliest|latest|<offset>`: on a stopped pipeline with no worker in its group,
 *   deletes its state (the tasks and changelog topics) and moves its group's offsets, in one
 *   atomic commit with the control record; it stays stopped.
 * - `replay [--from …]`: stop, reset, resume, and a progress bar until the pipeline has caught
 *   up with what the source held when the replay began.
 *
 * @example
 * tributary pipelines list
 * tributary pipelines replay sales-per-minute --from earliest
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { TopicDescription } from '../../broker/types.js';
import { CONTROL_KEY, type ControlState, controlValue } from '../../processing/control.js';
import {
  describePipeline,
  describePipelines,
  type GroupView,
  type PipelineOverview,
  type PipelineReader,
} from '../../processing/overview.js';
import { controlTopic, groupOf, tasksTopic } from '../../processing/topics.js';
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
    await writeControl(options.server, name, 'stopped');
    await waitForNoWorkers(reader, name, options.timeout);
    print(`Stopped pipeline "${name}".`);
  });

  addUrlOption(
    pipelines
      .command('resume <name>')
      .description('Resume a stopped pipeline: its workers join its group again.'),
  ).action(async (name: string, options: ServerOptions) => {
    await existing(httpReader(options.server), name);
    await writeControl(options.server, name, 'running');
    print(`Resumed pipeline "${name}".`);
  });

  addUrlOption(
    pipelines
      .command('reset <name>')
      .description("Forget a stopped pipeline's state and move it to a source position (it stays stopped).")
      .requiredOption(
        '--to <position>',
        'earliest, latest, or an offset (the same in every partition, clamped to it)',
        parsePosition,
      ),
  ).action(async (name: string, options: ServerOptions & { to: Position }) => {
    const reader = httpReader(options.server);
    const pipeline = await existing(reader, name);
    const targets = await reset(options.server, pipeline, options.to);
    print(
      `Reset pipeline "${name}": ${targets.map((t) => `${pipeline.source}/${t.partition} at ${t.offset}`).join(', ')}. Resume it to run.`,
    );
  });

  addUrlOption(
    pipelines
      .command('replay <name>')
      .description('Stop, reset to --from, resume, and show progress until the pipeline catches up.')
      .option('--from <position>', 'earliest, latest, or an offset', parsePosition, 'earliest' as Position)
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
    await writeControl(options.server, name, 'stopped');
    await waitForNoWorkers(reader, name, options.timeout);
    const pipeline = await existing(reader, name);
    const targets = await reset(options.server, pipeline, options.from);
    await writeControl(options.server, name, 'running');
    const total = targets.reduce((n, t) => n + (t.end - t.offset), 0);
    const progress = new Progress(total, process.stderr, (n) => `${n} records`);
    progress.setLabel(name);
    let done = 0;
    const deadline = Date.now() + options.timeout;
    for (;;) {
      const now = await describePipeline(reader, name);
      const reached = targets.reduce((n, t) => {
        const committed = now?.partitions.find((x) => x.partition === t.partition)?.committed ?? t.offset;
        return n + Math.min(t.end, Math.max(t.offset, committed)) - t.offset;
      }, 0);
      if (reached > done) {
        progress.advance(reached - done);
        done = reached;
      }
      if (done >= total) break;
      if (Date.now() > deadline) {
        progress.done();
        throw new CliError(
          `Replay of "${name}" not caught up after ${options.timeout} ms: ${done} of ${total} records (are its workers running?)`,
        );
      }
      await sleep(POLL_MS);
    }
    progress.done();
    const seconds = (Date.now() - startedAt) / 1000;
    print(
      `Replayed pipeline "${name}": ${total} records in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} records/s).`,
    );
  });
}

type Position = 'earliest' | 'latest' | number;

function parsePosition(value: string): Position {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  throw new InvalidArgumentError('A position is earliest, latest or an offset (a non-negative integer).');
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

/**
 * Deletes the pipeline's state topics, then commits its group's new offsets with the control
 * record (still `stopped`) in one atomic commit. Workers create the state topics again when
 * resumed; a task without progress record starts at its group's offset with empty state.
 */
async function reset(server: ServerTarget, pipeline: PipelineOverview, to: Position): Promise<ResetTarget[]> {
  const name = pipeline.pipeline;
  if (pipeline.control !== 'stopped' || pipeline.workers > 0) {
    throw new CliError(
      `Pipeline "${name}" is ${pipeline.control} with ${pipeline.workers} worker(s) in its group: stop it first (tributary pipelines stop ${name}).`,
      EXIT_USAGE,
    );
  }
  const source = await apiRequest<TopicDescription>(
    server,
    'GET',
    `/v1/topics/${encodeURIComponent(pipeline.source!)}`,
  );
  const targets = source.partitions.map((p) => ({
    partition: p.partition,
    offset:
      to === 'earliest' ? p.earliest : to === 'latest' ? p.next : Math.min(p.next, Math.max(p.earliest, to)),
    end: p.next,
  }));
  const { topics } = await apiRequest<{ topics: TopicDescription[] }>(server, 'GET', '/v1/topics');
  const state = topics
    .map((t) => t.name)
    .filter((t) => t === tasksTopic(name) || (t.startsWith(`${name}.`) && t.endsWith('.changelog')));
  for (const topic of state) await apiRequest(server, 'DELETE', `/v1/topics/${encodeURIComponent(topic)}`);
  await apiRequest(server, 'POST', '/v1/commit', {
    appends: [
      {
        topic: controlTopic(name),
        records: [{ key: CONTROL_KEY, value: { ...controlValue('stopped'), reset: { to, at: Date.now() } } }],
      },
    ],
    offsets: {
      groupId: groupOf(name),
      offsets: targets.map((t) => ({ topic: pipeline.source, partition: t.partition, offset: t.offset })),
    },
  });
  return targets;
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
