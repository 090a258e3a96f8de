/**
 * @module processing/stages
 * A pipeline with `repartition()` steps runs as several stages, each an ordinary pipeline: the
 * first reads the source and ends at the first repartition step, writing its items (key = the
 * stream's key, value = JSON, timestamp = the event time) to the topic
 * `<pipeline>.<step>.repartition`; the next, named `<pipeline>.<step>`, reads that topic (so
 * a key's items are in one partition of it, by murmur2 of the key) and runs the steps after,
 * and so on. Each stage commits atomically on its own (its outputs into the next stage's topic,
 * read with committed isolation), so an item crosses each cut exactly once.
 *
 * Pipeline and step names have no dots, so the later stages of a pipeline can be found from
 * the server's topics alone (`laterStagesIn`): what the CLI stops, resets and replays together.
 */
import type { PipelineDefinition } from './pipeline.js';

const REPARTITION_SUFFIX = '.repartition';

export const repartitionTopic = (pipeline: string, step: string): string =>
  `${pipeline}.${step}${REPARTITION_SUFFIX}`;
/** The stage that runs the steps after the repartition step `step`. */
export const stageName = (pipeline: string, step: string): string => `${pipeline}.${step}`;

/** A later stage of a pipeline and the repartition topic it reads. */
export interface LaterStage {
  readonly stage: string;
  readonly source: string;
}

/** The later stages of `pipeline`, from the names of the server's topics (its repartition topics), by name. */
export function laterStagesIn(pipeline: string, topics: readonly string[]): LaterStage[] {
  const prefix = `${pipeline}.`;
  const stepOf = (t: string): string => t.slice(prefix.length, -REPARTITION_SUFFIX.length);
  return topics
    .filter((t) => t.startsWith(prefix) && t.endsWith(REPARTITION_SUFFIX))
    .filter((t) => /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(stepOf(t)))
    .sort()
    .map((source) => ({ stage: source.slice(0, -REPARTITION_SUFFIX.length), source }));
}

/** The pipeline whose later stage `name` is, or undefined when `name` is a pipeline's first stage. */
export function pipelineOfStage(name: string): string | undefined {
  const dot = name.indexOf('.');
  return dot < 0 ? undefined : name.slice(0, dot);
}

/** The stages of `definition`, first to last; a pipeline without repartition steps is one stage. */
export function stagesOf(definition: PipelineDefinition): PipelineDefinition[] {
  const stages: PipelineDefinition[] = [];
  let name = definition.name;
  let source = definition.source;
  let steps = [] as PipelineDefinition['steps'][number][];
  for (const step of definition.steps) {
    if (step.repartition === undefined) {
      steps.push(step);
      continue;
    }
    const topicName = repartitionTopic(definition.name, step.name);
    stages.push({
      name,
      source,
      steps,
      sink: { kind: 'topic', name: topicName, options: {} },
      latenessMs: definition.latenessMs,
    });
    name = stageName(definition.name, step.name);
    // The event time crossed the cut as the record's timestamp (the default event time).
    source = { kind: 'topic', name: topicName, options: {} };
    steps = [];
  }
  stages.push({ ...definition, name, source, steps });
  return stages;
}
