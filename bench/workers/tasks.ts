/**
 * @module bench/workers/tasks
 * What the orchestrator (`bench/run.ts`) asks a load-generator process
 * (`bench/workers/loadgen.ts`) to do, and what comes back. Messages travel over the Node IPC
 * channel with `serialization: 'advanced'` (structured clone), so latency samples come back as
 * Float64Arrays without JSON.
 *
 * Every task is bounded in time (`durationMs` / `timeoutMs`) and in count (`maxMessages`, `count`).
 */
import type { Summary } from '../lib/stats.js';
import type { SystemId, Target } from '../systems/types.js';

/** Publish with acknowledgements as fast as the window allows. */
export interface PublishTask {
  readonly type: 'publish';
  readonly system: SystemId;
  readonly target: Target;
  readonly size: number;
  /** Concurrent publishers, each with its own connection. */
  readonly publishers: number;
  /** Unacknowledged messages each publisher may have outstanding. */
  readonly window: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Stop after this many messages in total even if time is left. */
  readonly maxMessages: number;
}

export interface PublishResult {
  /** Acknowledgements counted inside the measured window (after warm-up). */
  readonly acked: number;
  readonly measuredMs: number;
  readonly msgsPerSec: number;
  readonly payloadMBPerSec: number;
  /** Send → acknowledgement, measured window only. */
  readonly ackMs: Summary;
  readonly errors: number;
  readonly firstError?: string;
}

/** One publisher at a fixed rate (latency and fan-out), payloads stamped with the send time. */
export interface PacedTask {
  readonly type: 'paced';
  readonly system: SystemId;
  readonly target: Target;
  readonly size: number;
  readonly run: number;
  /** Messages per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Most unacknowledged messages; past it the publisher waits (and the achieved rate drops). */
  readonly window: number;
}

/** A burst: `count` messages as fast as the client allows (fan-out at saturation). */
export interface BurstTask {
  readonly type: 'burst';
  readonly system: SystemId;
  readonly target: Target;
  readonly size: number;
  readonly run: number;
  readonly count: number;
  readonly window: number;
  readonly timeoutMs: number;
}

export interface SendResult {
  readonly sent: number;
  readonly startNs: number;
  readonly endNs: number;
  readonly achievedRate: number;
  /** Publish → acknowledgement, for systems that acknowledge (paced runs only). */
  readonly ackMs?: Summary;
  readonly errors: number;
  readonly firstError?: string;
}

/**
 * Opens `subscribers` subscriptions and keeps them until the `close` signal. Emits `ready` once all
 * are registered; counts deliveries per run id; answers `collect` signals with `stats` events.
 */
export interface SubscribeTask {
  readonly type: 'subscribe';
  readonly system: SystemId;
  readonly target: Target;
  readonly subscribers: number;
  readonly from: 'latest' | 'earliest';
  /** Subscriptions opened at once while connecting. */
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  /** Only connect and stay connected, without subscribing (`SystemClient.connectIdle`). */
  readonly idle?: boolean;
}

export type SubscribeSignal =
  /** Deliveries of `run` to expect in this process; `complete` is emitted when they have all arrived. */
  | { readonly expect: { readonly run: number; readonly deliveries: number; readonly warmupSeq: number } }
  | { readonly collect: number }
  | { readonly close: true };

export interface RunStats {
  readonly run: number;
  readonly deliveries: number;
  /** End-to-end latencies (ms) of the deliveries with `seq >= warmupSeq`. */
  readonly latenciesMs: Float64Array;
  readonly firstNs: number;
  readonly lastNs: number;
  /** When this process received the first and the last copy of message `seq` (NaN: none). */
  readonly seqFirstNs?: Float64Array;
  readonly seqLastNs?: Float64Array;
  /** The publisher's send time of message `seq` (NaN: not received here). */
  readonly seqSentNs?: Float64Array;
}

export type SubscribeEvent =
  | { readonly ready: { readonly connectMs: number } }
  | { readonly complete: number }
  | { readonly stats: RunStats };

/** Bulk-loads records for the replay (not measured as a benchmark, but timed for the log). */
export interface FillTask {
  readonly type: 'fill';
  readonly system: SystemId;
  readonly target: Target;
  readonly size: number;
  readonly count: number;
  readonly timeoutMs: number;
}

export interface FillResult {
  readonly records: number;
  readonly elapsedMs: number;
}

/** Reads `count` records from the start. */
export interface ReplayTask {
  readonly type: 'replay';
  readonly system: SystemId;
  readonly target: Target;
  readonly count: number;
}

export interface ReplayTaskResult {
  readonly records: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly recordsPerSec: number;
}

export type Task = PublishTask | PacedTask | BurstTask | SubscribeTask | FillTask | ReplayTask;

/** Orchestrator → worker. */
export type ToWorker =
  | { readonly kind: 'task'; readonly id: number; readonly task: Task }
  | { readonly kind: 'signal'; readonly id: number; readonly signal: SubscribeSignal };

/** Worker → orchestrator. */
export type FromWorker =
  | { readonly kind: 'online' }
  | { readonly kind: 'event'; readonly id: number; readonly event: SubscribeEvent }
  | { readonly kind: 'result'; readonly id: number; readonly result: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };
