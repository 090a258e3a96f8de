/**
 * @module server/front/kafka/handlers/alter-configs
 * AlterConfigs (33) v0–v2 and IncrementalAlterConfigs (44) v0–v1. A Tributary topic's settings
 * and the broker's are fixed (the log has no call to change a topic's settings), so a request
 * succeeds only when it changes nothing (tools that apply a desired state see no drift);
 * otherwise POLICY_VIOLATION names each setting that would change, and an unknown name or a bad
 * value is INVALID_CONFIG (kafka-configs.ts). `validate_only` answers the same. A topic needs
 * `alter` on it, the broker `alter` on the cluster.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import {
  type AlterConfigsResourceResponse,
  CONFIG_OPERATION,
  CONFIG_RESOURCE_TYPE,
  type IncrementalAlterConfigsEntry,
} from '../../../../protocol/kafka/requests/index.js';
import { CLUSTER_RESOURCE } from '../../../auth/types.js';
import { authorizeKafka } from '../acl.js';
import { type ConnectionScope, countError, errorCodeOf, type KafkaContext } from '../context.js';
import {
  type ConfigChangeCheck,
  checkBrokerConfigChange,
  checkTopicConfigChange,
  topicConfigsForKafka,
} from '../kafka-configs.js';
import type { Handler } from './types.js';

type Api = 'AlterConfigs' | 'IncrementalAlterConfigs';
type Setting = { readonly name: string; readonly value: string | null };

export const handleAlterConfigs: Handler<'AlterConfigs'> = async (ctx, { body }, scope) => {
  const responses: AlterConfigsResourceResponse[] = [];
  for (const { resourceType, resourceName, configs } of body.resources) {
    const check = await checkResource(
      ctx,
      scope,
      'AlterConfigs',
      resourceType,
      resourceName,
      () => configs,
      true,
    );
    countError(ctx, check.errorCode);
    responses.push({ ...check, resourceType, resourceName });
  }
  return { throttleTimeMs: 0, responses };
};

export const handleIncrementalAlterConfigs: Handler<'IncrementalAlterConfigs'> = async (
  ctx,
  { body },
  scope,
) => {
  const responses: AlterConfigsResourceResponse[] = [];
  for (const { resourceType, resourceName, configs } of body.resources) {
    const check = await checkResource(
      ctx,
      scope,
      'IncrementalAlterConfigs',
      resourceType,
      resourceName,
      (current) => configs.map((c) => settingOf(c, current)),
      false,
    );
    countError(ctx, check.errorCode);
    responses.push({ ...check, resourceType, resourceName });
  }
  return { throttleTimeMs: 0, responses };
};

class BadOperation extends Error {}

/** One incremental operation as the value it leaves (current: the values DescribeConfigs reports). */
function settingOf(entry: IncrementalAlterConfigsEntry, current: ReadonlyMap<string, string>): Setting {
  const { name, configOperation, value } = entry;
  switch (configOperation) {
    case CONFIG_OPERATION.SET:
      return { name, value };
    case CONFIG_OPERATION.DELETE:
      return { name, value: null };
    case CONFIG_OPERATION.APPEND:
    case CONFIG_OPERATION.SUBTRACT: {
      if (name !== 'cleanup.policy')
        throw new BadOperation(`${name} is not a list: APPEND and SUBTRACT do not apply`);
      const list = new Set((current.get(name) ?? '').split(',').filter((v) => v !== ''));
      for (const v of (value ?? '').split(',').map((s) => s.trim())) {
        if (configOperation === CONFIG_OPERATION.APPEND) list.add(v);
        else list.delete(v);
      }
      return { name, value: [...list].join(',') };
    }
    default:
      throw new BadOperation(`unknown config operation ${configOperation} for ${name}`);
  }
}

async function checkResource(
  ctx: KafkaContext,
  scope: ConnectionScope,
  api: Api,
  resourceType: number,
  resourceName: string,
  settings: (current: ReadonlyMap<string, string>) => readonly Setting[],
  replace: boolean,
): Promise<ConfigChangeCheck> {
  try {
    if (resourceType === CONFIG_RESOURCE_TYPE.TOPIC) {
      const denied = authorizeKafka(scope, api, 'topic', resourceName);
      if (denied !== KafkaErrorCode.NONE) return { errorCode: denied, errorMessage: null };
      let config: Awaited<ReturnType<KafkaContext['broker']['describeTopic']>>['config'];
      try {
        config = (await ctx.broker.describeTopic(resourceName)).config;
      } catch (error) {
        return { errorCode: errorCodeOf(ctx, error, api), errorMessage: (error as Error).message };
      }
      const current = new Map(topicConfigsForKafka(config).map((c) => [c.name, c.value]));
      return checkTopicConfigChange(config, settings(current), replace);
    }
    if (resourceType === CONFIG_RESOURCE_TYPE.BROKER) {
      if (resourceName !== '' && resourceName !== String(ctx.nodeId)) {
        return {
          errorCode: KafkaErrorCode.INVALID_REQUEST,
          errorMessage: `unknown broker "${resourceName}": this node is ${ctx.nodeId}`,
        };
      }
      const denied = authorizeKafka(scope, api, 'cluster', CLUSTER_RESOURCE);
      if (denied !== KafkaErrorCode.NONE) return { errorCode: denied, errorMessage: null };
      return checkBrokerConfigChange(ctx, settings(new Map()));
    }
    return {
      errorCode: KafkaErrorCode.INVALID_REQUEST,
      errorMessage: `resource type ${resourceType} has no configs here (topics: 2, brokers: 4)`,
    };
  } catch (error) {
    if (error instanceof BadOperation)
      return { errorCode: KafkaErrorCode.INVALID_CONFIG, errorMessage: error.message };
    throw error;
  }
}
