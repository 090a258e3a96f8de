/**
 * @module connectors/sinks/webhook/webhook-sink
 * `webhook-sink`: POSTs every record, in offset order per partition, to a URL. A network error,
 * a timeout, 408, 429 or 5xx is retried with exponential backoff (honouring `Retry-After`); after
 * `maxAttempts` tries, or at once for another 4xx, the record goes to the dead-letter topic with
 * the reason in its headers, and the sink goes on. Without a dead-letter topic a record is never
 * skipped: failing tries go on (state `retrying`), and a 4xx stops the partition (`failed`).
 *
 * Delivery is at least once: the position is the group's committed offset, written after each
 * batch, so a crash re-sends the records since the last commit. Every try of a record carries the
 * same `x-tributary-delivery` id for receivers to drop repeats.
 *
 * @example
 * { "name": "orders-hook", "type": "webhook-sink",
 *   "config": { "topics": ["orders"], "url": "https://example.com/hook", "secret": "s3cret", "deadLetterTopic": "orders.dlq" } }
 */
import type { Broker, LogRecord, TopicPartition } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import type { ConnectorFactory, ConnectorSpec } from '../../types.js';
import { type DeadLetters, deadLetters } from '../dead-letter.js';
import { createSinkConnector } from '../sink-connector.js';
import { positionKey, type SinkBatch, type SinkTarget } from '../sink-target.js';
import { readWebhookSinkConfig, type WebhookSinkConfig } from './config.js';
import { deliveryId, webhookBody, webhookSignature } from './payload.js';

export const webhookSinkFactory: ConnectorFactory<WebhookSinkConfig> = {
  type: 'webhook-sink',
  kind: 'sink',
  validate: readWebhookSinkConfig,
  create(spec, config, context) {
    return createSinkConnector(
      spec,
      config.common,
      new WebhookSinkTarget(spec, config, context.broker),
      context,
    );
  },
};

/** Why one try failed, and whether another can help. */
class DeliveryFailure extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

class WebhookSinkTarget implements SinkTarget {
  readonly #spec: ConnectorSpec;
  readonly #config: WebhookSinkConfig;
  readonly #deadLetters: DeadLetters | undefined;
  /** Next offset to send per partition, in this process: a batch retried after a failure resumes here. */
  readonly #sent = new Map<string, number>();

  constructor(spec: ConnectorSpec, config: WebhookSinkConfig, broker: Broker) {
    this.#spec = spec;
    this.#config = config;
    this.#deadLetters =
      config.deadLetterTopic === undefined
        ? undefined
        : deadLetters(broker, config.deadLetterTopic, spec.name);
  }

  async open(): Promise<void> {
    await this.#deadLetters?.open();
  }

  /** Webhook positions live in the group's committed offsets only. */
  async storedPositions(_partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    return new Map();
  }

  async apply(batch: SinkBatch, signal: AbortSignal): Promise<void> {
    const key = positionKey(batch.topic, batch.partition);
    for (const record of batch.records) {
      if (record.offset < (this.#sent.get(key) ?? 0)) continue;
      await this.#deliver(batch, record, signal);
      this.#sent.set(key, record.offset + 1);
    }
  }

  isPermanent(error: unknown): boolean {
    return error instanceof TributaryError && !error.retriable;
  }

  async close(): Promise<void> {
    this.#sent.clear();
  }

  /** Sends one record until it is accepted or dead-lettered; throws when it can be neither. */
  async #deliver(batch: SinkBatch, record: LogRecord, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(webhookBody(batch.topic, batch.partition, record));
    let failure: DeliveryFailure | undefined;
    for (let attempt = 0; attempt < this.#config.maxAttempts; attempt++) {
      if (signal.aborted) throw new TributaryError('SHUTTING_DOWN');
      if (failure !== undefined) await sleep(this.#retryDelayMs(attempt - 1, failure), signal);
      failure = await this.#post(batch, record, body, signal);
      if (failure === undefined) return;
      if (!failure.retriable) break;
    }
    const reason = failure?.message ?? 'not delivered';
    if (this.#config.deadLetterTopic !== undefined) {
      await this.#deadLetter(batch, record, reason);
      return;
    }
    if (failure?.retriable === false) {
      throw new TributaryError('SINK_TARGET_REFUSED', { connector: this.#spec.name, reason });
    }
    throw new Error(
      `webhook delivery of ${deliveryId(batch.topic, batch.partition, record.offset)} failed: ${reason}`,
    );
  }

  /** One try: undefined when the receiver accepted (2xx), else why not. */
  async #post(
    batch: SinkBatch,
    record: LogRecord,
    body: string,
    signal: AbortSignal,
  ): Promise<DeliveryFailure | undefined> {
    const headers: Record<string, string> = {
      ...this.#config.headers,
      'content-type': 'application/json',
      'x-tributary-delivery': deliveryId(batch.topic, batch.partition, record.offset),
    };
    if (this.#config.secret !== undefined) {
      headers['x-tributary-signature'] = webhookSignature(
        this.#config.secret,
        body,
        Math.floor(Date.now() / 1000),
      );
    }
    let response: Response;
    try {
      response = await fetch(this.#config.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#config.timeoutMs)]),
      });
    } catch (error) {
      return new DeliveryFailure(`request failed: ${(error as Error).message}`, true);
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return undefined;
    const status = response.status;
    const retriable = status >= 500 || status === 408 || status === 429;
    return new DeliveryFailure(
      `HTTP ${status}`,
      retriable,
      retryAfterMs(response.headers.get('retry-after')),
    );
  }

  #retryDelayMs(failures: number, failure: DeliveryFailure): number {
    const { retryInitialMs, retryMaxMs } = this.#config;
    const exponential = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(failures, 30));
    const jittered = Math.round(exponential * (0.5 + Math.random() / 2));
    return Math.min(retryMaxMs, Math.max(jittered, failure.retryAfterMs ?? 0));
  }

  async #deadLetter(batch: SinkBatch, record: LogRecord, reason: string): Promise<void> {
    await this.#deadLetters?.send(batch, record, reason);
  }
}

/** `Retry-After` in seconds (the HTTP-date form is ignored). */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header) * 1000;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
