/**
 * @module connectors/sinks/webhook/config
 * Settings of the `webhook-sink` connector, checked before anything connects.
 */
import { TributaryError } from '../../../errors.js';
import {
  configObject,
  optionalInteger,
  optionalString,
  optionalStringMap,
  refuseUnknownFields,
  requiredString,
} from '../config-fields.js';
import { readSinkCommonConfig, SINK_COMMON_FIELDS, type SinkCommonConfig } from '../sink-config.js';

export interface WebhookSinkConfig {
  readonly common: SinkCommonConfig;
  /** `http:` or `https:` URL every record is POSTed to. */
  readonly url: string;
  /** HMAC-SHA256 key of the `x-tributary-signature` header; no signature without it. */
  readonly secret: string | undefined;
  /** Extra request headers (e.g. `authorization`). */
  readonly headers: Readonly<Record<string, string>>;
  /** One request's time limit (ms). Default 10 000. */
  readonly timeoutMs: number;
  /** Tries per record before it goes to the dead-letter topic. Default 5. */
  readonly maxAttempts: number;
  /** First retry delay (ms), doubled per try up to `retryMaxMs`. Default 200. */
  readonly retryInitialMs: number;
  /** Default 30 000. */
  readonly retryMaxMs: number;
  /** Where records that cannot be delivered go; without it they are retried until they are. */
  readonly deadLetterTopic: string | undefined;
}

export const WEBHOOK_SINK_DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 5,
  retryInitialMs: 200,
  retryMaxMs: 30_000,
} as const;

const FIELDS = [
  ...SINK_COMMON_FIELDS,
  'url',
  'secret',
  'headers',
  'timeoutMs',
  'maxAttempts',
  'retryInitialMs',
  'retryMaxMs',
  'deadLetterTopic',
];

export function readWebhookSinkConfig(raw: unknown): WebhookSinkConfig {
  const config = configObject(raw);
  refuseUnknownFields(config, FIELDS);
  const url = requiredString(config, 'url');
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'config.url must be an http: or https: URL' });
  }
  const defaults = WEBHOOK_SINK_DEFAULTS;
  return {
    common: readSinkCommonConfig(config),
    url,
    secret: optionalString(config, 'secret'),
    headers: optionalStringMap(config, 'headers'),
    timeoutMs: optionalInteger(config, 'timeoutMs', 100, 600_000, defaults.timeoutMs),
    maxAttempts: optionalInteger(config, 'maxAttempts', 1, 1000, defaults.maxAttempts),
    retryInitialMs: optionalInteger(config, 'retryInitialMs', 1, 600_000, defaults.retryInitialMs),
    retryMaxMs: optionalInteger(config, 'retryMaxMs', 1, 3_600_000, defaults.retryMaxMs),
    deadLetterTopic: optionalString(config, 'deadLetterTopic'),
  };
}
