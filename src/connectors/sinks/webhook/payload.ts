/**
 * @module connectors/sinks/webhook/payload
 * What the webhook sink sends: one JSON body per record, its idempotency id, and the HMAC
 * signature header a receiver checks (`verifyWebhookSignature` is the receiver's side, exported
 * for Node receivers and used by the tests).
 *
 * Signature: `x-tributary-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
 * the timestamp inside the signed text lets a receiver refuse replays older than it tolerates.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LogRecord } from '../../../broker/types.js';

export interface WebhookBody {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /** UTF-8 text, or base64 when `encoding` is `base64`; null when the record has none. */
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Present when key or value bytes are not UTF-8: both are then base64. */
  readonly encoding?: 'base64';
}

const strict = new TextDecoder('utf-8', { fatal: true });

export function webhookBody(topic: string, partition: number, record: LogRecord): WebhookBody {
  const headers: Record<string, string> = {};
  for (const header of record.headers) {
    headers[header.key] = header.value === null ? '' : Buffer.from(header.value).toString('utf8');
  }
  const base = { topic, partition, offset: record.offset, timestamp: record.timestamp, headers };
  try {
    return { ...base, key: decode(record.key), value: decode(record.value) };
  } catch {
    return { ...base, key: base64(record.key), value: base64(record.value), encoding: 'base64' };
  }
}

/** `topic/partition/offset`: the same for every try of one record, so receivers can drop repeats. */
export function deliveryId(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}/${offset}`;
}

export function webhookSignature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** True when `header` signs `body` with `secret` and is at most `toleranceSeconds` old. */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (match === null) return false;
  const seconds = Number(match[1]);
  if (Math.abs(nowSeconds - seconds) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, body, seconds).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2] ?? '', 'hex'));
}

function decode(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : strict.decode(bytes);
}

function base64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('base64');
}
