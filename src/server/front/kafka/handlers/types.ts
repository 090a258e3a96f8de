/**
 * @module server/front/kafka/handlers/types
 * The shape of an API handler: a decoded request in, the response body out (`null`: no
 * response, as for Produce with acks=0). Handlers answer expected failures with Kafka error
 * codes in the body; an exception is a bug, and closes the connection.
 */
import type {
  DecodedRequest,
  KafkaApiName,
  KafkaResponseTypes,
} from '../../../../protocol/kafka/requests/index.js';
import type { ConnectionScope, KafkaContext } from '../context.js';

export type RequestOf<K extends KafkaApiName> = Extract<DecodedRequest, { readonly api: K }>;

export type Handler<K extends KafkaApiName> = (
  ctx: KafkaContext,
  request: RequestOf<K>,
  scope: ConnectionScope,
) => KafkaResponseTypes[K] | null | Promise<KafkaResponseTypes[K] | null>;

/**
 * Thrown by a handler to close its connection once the responses before it are written, and
 * `response` (when given) after them.
 */
export class CloseConnection<K extends KafkaApiName = KafkaApiName> extends Error {
  constructor(
    reason: string,
    readonly response?: KafkaResponseTypes[K],
  ) {
    super(reason);
    this.name = 'CloseConnection';
  }
}
