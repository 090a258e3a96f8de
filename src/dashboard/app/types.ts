/**
 * @module dashboard/app/types
 * The JSON the dashboard reads from the HTTP API (docs/http-api.md).
 */
export interface PartitionJson {
  readonly partition: number;
  readonly earliest: number;
  readonly next: number;
  readonly sizeBytes: number;
  readonly damaged?: string;
}

export interface TopicJson {
  readonly name: string;
  readonly config: { readonly partitions: number; readonly compact?: boolean } & Record<string, unknown>;
  readonly partitions: readonly PartitionJson[];
}

export function totalRecords(topic: TopicJson): number {
  let total = 0;
  for (const p of topic.partitions) total += p.next - p.earliest;
  return total;
}

export function endOffsetSum(topic: TopicJson): number {
  let total = 0;
  for (const p of topic.partitions) total += p.next;
  return total;
}

export function sizeBytes(topic: TopicJson): number {
  let total = 0;
  for (const p of topic.partitions) total += p.sizeBytes;
  return total;
}
