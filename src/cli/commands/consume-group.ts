/**
 * @module cli/commands/consume-group
 * `tributary consume TOPIC --group G`: consumes as a member of a consumer group through the
 * client SDK over WebSocket (`<url>/v1/ws`): the server assigns this member partitions, and
 * offsets are committed as records are printed (and on exit), so the next member of the group
 * goes on where this one stopped. Prints the same JSON lines as the SSE consumer.
 *
 * @example
 * tributary consume orders --group billing --max 100
 */
import type { TopicDescription } from '../../broker/types.js';
import {
  connect,
  type GroupConsumer,
  type NodeTlsOptions,
  type TributaryClient,
} from '../../client/node/index.js';
import { isTributaryError } from '../../errors.js';
import { recordToJson } from '../../server/front/http/codec.js';
import { apiRequest, authError, CliError, type ClientTls, NetworkError, type ServerTarget } from '../api.js';
import { sdkAuth } from '../credentials.js';
import { topicPath } from './topics.js';

export interface GroupConsumeOptions {
  readonly server: ServerTarget;
  readonly group: string;
  readonly from: 'earliest' | 'latest';
  readonly max?: number;
  /** Exit once this member's partitions are read up to their next offset at the start (kcat -e). */
  readonly exitAtEnd?: boolean;
}

/** The WebSocket URL of the server at an HTTP base URL. */
export function webSocketUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/v1/ws`;
}

export async function consumeAsGroupMember(topic: string, options: GroupConsumeOptions): Promise<void> {
  // A group waits for topics that do not exist yet; a CLI user wants to hear about a typo instead.
  const { server } = options;
  const description = await apiRequest<TopicDescription>(server, 'GET', topicPath(topic));
  const url = webSocketUrl(server.url);
  let client: TributaryClient;
  try {
    client = await connect({
      url,
      reconnect: false,
      connectTimeoutMs: 10_000,
      ...(server.credentials === undefined ? {} : { auth: sdkAuth(server.credentials) }),
      ...(server.tls === undefined ? {} : { tls: sdkTls(server.tls) }),
    });
  } catch (error) {
    throwIfAuthError(error, server);
    // The SDK's connect errors name the URL and the cause already.
    if (isTributaryError(error) && ['CONNECT_FAILED', 'WRONG_ENDPOINT', 'TLS_FAILED'].includes(error.code))
      throw new NetworkError(`Cannot reach the Tributary server: ${error.message}`);
    throw new NetworkError(`Cannot reach the Tributary server at ${url}: ${describe(error)}`);
  }
  const group = client.groupConsumer({ groupId: options.group, topics: [topic], from: options.from });
  const stop = (): void => void group.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let printed = 0;
  const atEnd = options.exitAtEnd === true ? endCheck(group, topic, description, options.from) : undefined;
  const offAssignment = group.on('assignment', () => {
    // A member whose partitions hold nothing more to read gets no record to wake it up.
    if (atEnd?.() === true) void group.close();
  });
  try {
    await group.ready;
    if (atEnd?.() === true) await group.close();
    if (options.max === undefined || printed < options.max) {
      for await (const record of group) {
        const json = recordToJson(record, record.partition, record.topic);
        await writeLine(JSON.stringify(json));
        printed++;
        if (options.max !== undefined && printed >= options.max) break;
        if (atEnd?.() === true) break;
      }
    }
  } catch (error) {
    throwIfAuthError(error, server);
    throw new CliError(isTributaryError(error) ? `${error.code}: ${error.message}` : describe(error));
  } finally {
    offAssignment();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await client.close(); // commits what was printed and leaves the group
  }
}

/**
 * For --exit-at-end: true once every partition assigned to this member is read up to its next
 * offset as the topic was described at the start. A partition not read from yet is at the group's
 * committed offset, else at `from` (its earliest offset, or for `latest` its end).
 */
function endCheck(
  group: GroupConsumer,
  topic: string,
  description: TopicDescription,
  from: 'earliest' | 'latest',
): () => boolean {
  const partitions = new Map(description.partitions.map((p) => [p.partition, p]));
  return () =>
    group.assignment().every(({ partition }) => {
      const known = partitions.get(partition);
      if (known === undefined) return true; // added after the start: not part of "the end"
      const position =
        group.position(topic, partition) ?? (from === 'earliest' ? known.earliest : known.next);
      return position >= known.next;
    });
}

/** A refused credential or operation over WebSocket: the same message and exit code as over HTTP. */
function throwIfAuthError(error: unknown, server: ServerTarget): void {
  if (!isTributaryError(error)) return;
  const status = error.code.endsWith('_ACCESS_DENIED')
    ? 403
    : ['UNAUTHENTICATED', 'TOKEN_EXPIRED', 'ACCESS_REVOKED'].includes(error.code)
      ? 401
      : undefined;
  if (status !== undefined) throw authError(error.code, error.message, status, server.credentials);
}

function writeLine(line: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(`${line}\n`)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

function describe(error: unknown): string {
  if (isTributaryError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** The SDK's TLS options from the CLI's (`--ca`, `--cert`, `--key`). */
function sdkTls(tls: ClientTls): NodeTlsOptions {
  return {
    ...(tls.ca && { ca: tls.ca }),
    ...(tls.cert && { cert: tls.cert }),
    ...(tls.key && { key: tls.key }),
  };
}
