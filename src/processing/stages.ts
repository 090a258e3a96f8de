/**
 * @module processing/stages
 * A pipeline with `repartition()` steps runs as several stages, each an ordinary pipeline: the
 * first reads the source and ends at the first repartition step, writing its items (key = the
 * stream's key, value = JSON, timestamp = the event time) to the topic
 * `<pipeline>.<step>.repartition`; the next, named `<pipeline>.<step>`, reads that topic (so
 * a key's items are in one partition of it, by murmur2 of the key) and runs the steps after,
 * and so on. Each stage commits atomically on its own (its outputs into the next stage's topic,
 * read with committed isolation), so an item crosses each cut exactly once.
 */
import type { PipelineDefinition } from './pipeline.js';

export const repartitionTopic = (pipeline: string, step: string): string => `${pipeline}.${step}.repartition`;

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
    name = `${definition.name}.${step.name}`;
    // The event time crossed the cut as the record's timestamp (the default event time).
    source = { kind: 'topic', name: topicName, options: {} };
    steps = [];
  }
  stages.push({ ...definition, name, source, steps });
  return stages;
}
