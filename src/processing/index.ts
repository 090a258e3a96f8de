/**
 * @module tributary-sync/processing
 * Stream processing: windowed, stateful, exactly-once pipelines over Tributary topics, with
 * results in topics or live collections. See `docs/stream-processing.md`.
 *
 * @example
 * import { connect } from 'tributary-sync/client/node';
 * import { collection, pipeline, runPipeline, topic, tumbling } from 'tributary-sync/processing';
 *
 * const client = await connect({ url: 'ws://localhost:8080/v1/ws' });
 * const run = await runPipeline(
 *   client,
 *   pipeline('sales-per-minute')
 *     .from(topic<{ product: string; qty: number; at: number }>('sales', { eventTime: (s) => s.at }))
 *     .keyBy((s) => s.product)
 *     .window(tumbling('1m'), { lateness: '5s' })
 *     .aggregate({ init: () => ({ units: 0 }), add: (acc, s) => ({ units: acc.units + s.qty }) })
 *     .to(collection('sales-per-minute')),
 * );
 */

export { type ControlState, controlValue } from './control.js';
export type { Duration } from './duration.js';
export type { JoinWindow } from './joins.js';
export { eventIdOf } from './materializer.js';
export { registerPipelineRunMetrics } from './metrics.js';
export type { Aggregator, Keyed, Windowed } from './operators.js';
export {
  describePipeline,
  describePipelines,
  type GroupView,
  type PipelineOverview,
  type PipelinePartitionOverview,
  type PipelineReader,
} from './overview.js';
export {
  type CollectionRef,
  type CollectionSinkOptions,
  collection,
  type FromSource,
  KeyedStream,
  type PipelineDefinition,
  pipeline,
  type Sink,
  type Source,
  type SourceRecordInfo,
  Stream,
  stream,
  type TopicOptions,
  type TopicRef,
  topic,
  WindowedStream,
  type WindowOptions,
} from './pipeline.js';
export {
  type PartitionStatus,
  PipelineRun,
  type PipelineRunEvents,
  type PipelineStatus,
  type RunOptions,
  runPipeline,
} from './runtime.js';
export type { SessionAggregator } from './sessions.js';
export {
  type ChangeFeedOptions,
  type ChangeFeedRef,
  changes,
  type DocumentChange,
  type EventSinkOptions,
  type EventSinkRef,
  type EventStreamRef,
  type EventStreamSourceOptions,
  type EventStreamTarget,
  eventSink,
  eventStream,
  type SourceEvent,
} from './sources.js';
export {
  changelogTopic,
  controlTopic,
  groupOf,
  leaseTopic,
  materializerGroupOf,
  resultsTopic,
} from './topics.js';
export { hopping, session, tumbling, type WindowBounds, type WindowSpec } from './windows.js';
