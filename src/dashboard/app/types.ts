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

/** `GET /v1/stats` (docs/http-api.md). */
export interface FrontendStatsJson {
  readonly frontend: string;
  readonly connections: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface TopicTrafficJson {
  readonly topic: string;
  readonly recordsIn: number;
  readonly bytesIn: number;
  readonly recordsOut: number;
}

export interface StatsJson {
  readonly version: string;
  readonly node: string;
  readonly startedAt: number;
  readonly uptimeMs: number;
  readonly health: 'ok' | 'degraded';
  readonly damaged: number;
  readonly process: { readonly rssBytes: number; readonly heapUsedBytes: number; readonly cpuMicros: number };
  readonly frontends: readonly FrontendStatsJson[];
  readonly topics: readonly TopicTrafficJson[];
}

/** `GET /v1/groups` (docs/http-api.md). */
export interface GroupJson {
  readonly group: string;
  readonly kind: 'native' | 'kafka' | 'inactive';
  readonly state: string;
  readonly generation: number;
  readonly members: readonly {
    readonly memberId: string;
    readonly clientId: string | null;
    readonly clientHost: string | null;
    readonly topics: readonly string[];
    readonly assigned: readonly { readonly topic: string; readonly partition: number }[];
  }[];
  readonly partitions: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly committed: number | null;
    readonly committedAt: number | null;
    readonly end: number | null;
    readonly lag: number | null;
    readonly memberId: string | null;
  }[];
}

/** `GET /v1/collections` (docs/collections.md). */
export interface CollectionJson {
  readonly name: string;
  readonly mode: 'eventual' | 'strong';
  readonly partitions: number;
  readonly createdAt: number;
}

/** `GET /v1/collections/{c}/items/{k}/history` (docs/collections.md). */
export interface HistoryJson {
  readonly key: string;
  readonly partition: number;
  readonly versions: readonly {
    readonly version: number;
    readonly timestamp: number;
    readonly value: Record<string, unknown> | null;
  }[];
  readonly scannedFrom: number;
  readonly complete: boolean;
}
