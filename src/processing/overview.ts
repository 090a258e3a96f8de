/**
 * @module processing/overview
 * What an operator sees of the pipelines a server holds, read from what the pipelines already
 * write there, so no worker has to be asked: each pipeline's consumer group (`pipeline.<name>`:
 * members, source partitions, committed offsets, lag), each task's last committed progress
 * record (`<pipeline>.tasks`: processed, late, invalid, watermark) and the pipeline's control
 * record (`<pipeline>.control`: stopped or running). The server's `/metrics` reads it through
 * the broker, the `tributary pipelines` command through the HTTP API; both give a
 * {@link PipelineReader}.
 *
 * @example
 * const pipelines = await describePipelines(reader);
 * for (const p of pipelines) console.log(p.pipeline, p.workers, p.partitions.map((x) => x.lag));
 */
import { CONTROL_KEY, type ControlState, parseControl } from './control.js';
import { controlTopic, tasksTopic } from './topics.js';

/** The fields of a consumer group's overview that pipelines need (`GET /v1/groups`). */
export interface GroupView {
  readonly group: string;
  readonly members: readonly { readonly memberId: string }[];
  readonly partitions: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly committed: number | null;
    readonly end: number | null;
    readonly lag: number | null;
    readonly memberId: string | null;
  }[];
}

/** Where the overview reads from: the broker (server) or the HTTP API (CLI). */
export interface PipelineReader {
  groups(): Promise<readonly GroupView[]>;
  /**
   * The value (parsed JSON) of the last committed record with `key` in the partition, or
   * undefined (no such record, or no such topic).
   */
  lastValue(topic: string, partition: number, key: string): Promise<unknown>;
}

export interface PipelinePartitionOverview {
  readonly partition: number;
  /** The next source offset the pipeline will process (committed); null before its first commit. */
  readonly committed: number | null;
  /** The source partition's end (high watermark). */
  readonly end: number | null;
  /** Records of the source not yet processed (`end - committed`). */
  readonly lag: number | null;
  /** Event time (ms) up to which the task's windows have closed; null before its first event. */
  readonly watermark: number | null;
  readonly processed: number;
  readonly late: number;
  readonly invalid: number;
  /** The member that holds the partition now; null: nobody. */
  readonly memberId: string | null;
}

export interface PipelineOverview {
  readonly pipeline: string;
  /** The source topic (from the group's committed or assigned partitions); null if unknown yet. */
  readonly source: string | null;
  /** `stopped` after `tributary pipelines stop`, until `resume`. */
  readonly control: ControlState;
  /** Worker processes in the group now (a stopped pipeline's workers leave it). */
  readonly workers: number;
  readonly partitions: readonly PipelinePartitionOverview[];
}

const GROUP_PREFIX = 'pipeline.';
const MATERIALIZER_SUFFIX = '.materializer';

/** The pipeline a consumer group belongs to, or undefined for any other group. */
export function pipelineOfGroup(group: string): string | undefined {
  if (!group.startsWith(GROUP_PREFIX) || group.endsWith(MATERIALIZER_SUFFIX)) return undefined;
  const name = group.slice(GROUP_PREFIX.length);
  return name.length > 0 ? name : undefined;
}

/** Every pipeline with a consumer group on the server, sorted by name. */
export async function describePipelines(reader: PipelineReader): Promise<PipelineOverview[]> {
  const out: PipelineOverview[] = [];
  const groups = [...(await reader.groups())].sort((a, b) => a.group.localeCompare(b.group));
  for (const group of groups) {
    const name = pipelineOfGroup(group.group);
    if (name === undefined) continue;
    out.push(await describeOne(reader, name, group));
  }
  return out;
}

/** One pipeline, or undefined if the server has no group for it. */
export async function describePipeline(
  reader: PipelineReader,
  name: string,
): Promise<PipelineOverview | undefined> {
  const group = (await reader.groups()).find((g) => pipelineOfGroup(g.group) === name);
  return group === undefined ? undefined : describeOne(reader, name, group);
}

async function describeOne(
  reader: PipelineReader,
  name: string,
  group: GroupView,
): Promise<PipelineOverview> {
  // The source is the only topic the pipeline's group reads.
  const source = group.partitions[0]?.topic ?? null;
  const rows = group.partitions.filter((p) => p.topic === source).sort((a, b) => a.partition - b.partition);
  const partitions = await Promise.all(
    rows.map(async (row): Promise<PipelinePartitionOverview> => {
      const meta = taskMeta(await reader.lastValue(tasksTopic(name), row.partition, 'task'));
      return {
        partition: row.partition,
        committed: row.committed,
        end: row.end,
        lag: row.lag,
        watermark: meta.watermark,
        processed: meta.processed,
        late: meta.late,
        invalid: meta.invalid,
        memberId: row.memberId,
      };
    }),
  );
  const control = parseControl(await reader.lastValue(controlTopic(name), 0, CONTROL_KEY));
  return { pipeline: name, source, control, workers: group.members.length, partitions };
}

interface MetaView {
  watermark: number | null;
  processed: number;
  late: number;
  invalid: number;
}

/** The fields of a task's progress record; zeros for what it does not hold (or no record). */
function taskMeta(value: unknown): MetaView {
  const meta: MetaView = { watermark: null, processed: 0, late: 0, invalid: 0 };
  if (typeof value !== 'object' || value === null) return meta;
  const record = value as Record<string, unknown>;
  const count = (field: string): number => {
    const n = record[field];
    return typeof n === 'number' && Number.isFinite(n) ? n : 0;
  };
  meta.processed = count('processed');
  meta.late = count('late');
  meta.invalid = count('invalid');
  const watermark = record.watermark;
  meta.watermark = typeof watermark === 'number' && Number.isFinite(watermark) ? watermark : null;
  return meta;
}
