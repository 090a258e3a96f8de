/**
 * @module server/front/kafka/handlers/describe-configs
 * DescribeConfigs (32) v0–v4: a topic's settings and the broker's under Kafka's names
 * (kafka-configs.ts), all read-only. A topic needs `describe` on it (TOPIC_AUTHORIZATION_FAILED),
 * the broker `describe` on the cluster (CLUSTER_AUTHORIZATION_FAILED). A broker is named by
 * this node's id, or "" for the cluster-wide defaults (the same values here); another id or a
 * resource type without configs here (BROKER_LOGGER) gets INVALID_REQUEST, as Kafka answers.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import {
  CONFIG_RESOURCE_TYPE,
  CONFIG_SOURCE,
  type DescribeConfigsEntry,
  type DescribeConfigsResource,
  type DescribeConfigsResult,
} from '../../../../protocol/kafka/requests/index.js';
import { CLUSTER_RESOURCE } from '../../../auth/types.js';
import { authorizeKafka } from '../acl.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import { brokerConfigsForKafka, type KafkaConfigValue, topicConfigsForKafka } from '../kafka-configs.js';
import type { Handler, RequestOf } from './types.js';

export const handleDescribeConfigs: Handler<'DescribeConfigs'> = async (ctx, request, scope) => {
  const results: DescribeConfigsResult[] = [];
  for (const resource of request.body.resources) {
    const found = await configsOf(ctx, resource, scope);
    countError(ctx, found.errorCode);
    const { resourceType, resourceName } = resource;
    if (found.configs === undefined) {
      results.push({
        errorCode: found.errorCode,
        errorMessage: found.errorMessage,
        resourceType,
        resourceName,
        configs: [],
      });
      continue;
    }
    const keys = resource.configurationKeys === null ? null : new Set(resource.configurationKeys);
    const configs = found.configs
      .filter((c) => keys === null || keys.has(c.name))
      .map((c) => entryOf(c, found.source, request.body));
    results.push({ errorCode: KafkaErrorCode.NONE, errorMessage: null, resourceType, resourceName, configs });
  }
  return { throttleTimeMs: 0, results };
};

type Found =
  | {
      readonly errorCode: 0;
      readonly errorMessage: null;
      readonly configs: KafkaConfigValue[];
      readonly source: number;
    }
  | {
      readonly errorCode: number;
      readonly errorMessage: string;
      readonly configs?: undefined;
      readonly source?: undefined;
    };

async function configsOf(
  ctx: KafkaContext,
  { resourceType, resourceName }: DescribeConfigsResource,
  scope: Parameters<Handler<'DescribeConfigs'>>[2],
): Promise<Found> {
  if (resourceType === CONFIG_RESOURCE_TYPE.TOPIC) {
    try {
      const { config } = await ctx.broker.describeTopic(resourceName);
      const configs = topicConfigsForKafka(config);
      return { errorCode: 0, errorMessage: null, configs, source: CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG };
    } catch (error) {
      return {
        errorCode: errorCodeOf(ctx, error, 'DescribeConfigs'),
        errorMessage: (error as Error).message,
      };
    }
  }
  if (resourceType === CONFIG_RESOURCE_TYPE.BROKER) {
    if (resourceName !== '' && resourceName !== String(ctx.nodeId)) {
      return {
        errorCode: KafkaErrorCode.INVALID_REQUEST,
        errorMessage: `unknown broker "${resourceName}": this node is ${ctx.nodeId}`,
      };
    }
    const denied = authorizeKafka(scope, 'DescribeConfigs', 'cluster', CLUSTER_RESOURCE);
    if (denied !== KafkaErrorCode.NONE)
      return { errorCode: denied, errorMessage: 'not allowed to describe the cluster' };
    return {
      errorCode: 0,
      errorMessage: null,
      configs: brokerConfigsForKafka(ctx),
      source: CONFIG_SOURCE.STATIC_BROKER_CONFIG,
    };
  }
  return {
    errorCode: KafkaErrorCode.INVALID_REQUEST,
    errorMessage: `resource type ${resourceType} has no configs here (topics: 2, brokers: 4)`,
  };
}

function entryOf(
  c: KafkaConfigValue,
  setSource: number,
  { includeSynonyms, includeDocumentation }: RequestOf<'DescribeConfigs'>['body'],
): DescribeConfigsEntry {
  const configSource = c.isDefault ? CONFIG_SOURCE.DEFAULT_CONFIG : setSource;
  return {
    name: c.name,
    value: c.value,
    readOnly: true,
    isDefault: c.isDefault,
    configSource,
    isSensitive: false,
    synonyms: includeSynonyms ? [{ name: c.name, value: c.value, source: configSource }] : [],
    configType: c.type,
    documentation: includeDocumentation ? c.documentation : null,
  };
}
