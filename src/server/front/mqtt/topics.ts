/**
 * @module server/front/mqtt/topics
 * How MQTT topic names and filters map onto the log, and MQTT's matching rules. Pure: no I/O, no
 * Node-only imports, so the rules can be tested exhaustively and reused anywhere.
 *
 * - Topic name `a/b/c` → Tributary topic `a` (the first level, which must be a valid user topic
 *   name) and record key `a/b/c` (the whole name, UTF-8). The partitioner hashes the key, so each
 *   MQTT topic keeps its order inside one partition and Kafka consumers read key `a/b/c`.
 *   A name with an empty first level (`/devices/x`, a common device layout) is in the topic of
 *   its second level (`devices`), key `/devices/x`: still its own MQTT topic, beside `devices/x`.
 * - A record of topic `T` from any front end → MQTT topic name: its key when the key is UTF-8
 *   without `+`, `#` or NUL and is `T`, `/T` or starts with `T/` or `/T/`; `T/<key>` for another
 *   such key; `T` for no key, an empty one, or one that is not UTF-8, holds `+`, `#`, NUL or is
 *   too long.
 * - Filters follow MQTT 3.1.1 / 5.0 §4.7: `+` is a whole level, `#` is the whole last level and
 *   also matches its parent; a filter starting with a wildcard never matches a `$` name (§4.7.2).
 *   `$share/<name>/<filter>` is a shared subscription (5.0 §4.8.2), served as a consumer group.
 *
 * @example
 * mqttTopicToLog('sensors/kitchen/temp'); // { topic: 'sensors', key: 'sensors/kitchen/temp' }
 * mqttTopicToLog('/devices/x'); // { topic: 'devices', key: '/devices/x' }
 * const filter = parseTopicFilter('sensors/+/temp');
 * filterMatches(filter, 'sensors/kitchen/temp'); // true
 */
import { userTopicNameProblem } from '../../../broker/internal-topics.js';

/** Where an MQTT topic name lives on the log: Tributary topic and record key. */
export interface LogAddress {
  readonly topic: string;
  readonly key: string;
}

/** A topic name or filter MQTT or Tributary refuses; `reason` says which rule it breaks. */
export class MqttTopicError extends Error {
  readonly reason: string;

  constructor(text: string, reason: string) {
    super(`MQTT topic "${shorten(text)}" is invalid: ${reason}`);
    this.name = 'MqttTopicError';
    this.reason = reason;
  }
}

/** A parsed subscription filter. */
export interface TopicFilter {
  /** The filter proper, without the `$share/<name>/` prefix. */
  readonly filter: string;
  /** Share name of a `$share/<name>/<filter>` subscription, else null. */
  readonly shareName: string | null;
  /** `filter` split at `/`. */
  readonly levels: readonly string[];
  /** The one Tributary topic the filter reads (first level, second after an empty first); null for a wildcard there (every readable user topic). */
  readonly topic: string | null;
}

/** MQTT strings carry a two-byte length (3.1.1 §1.5.3, 5.0 §1.5.4). */
export const MQTT_TOPIC_BYTES_MAX = 65_535;

const SHARE_PREFIX = '$share/';
/** Matches unpaired surrogates only (with `u`, a pair is one code point): not encodable as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Maps an MQTT topic name from PUBLISH (or a will) to its topic and key; throws MqttTopicError. */
export function mqttTopicToLog(name: string): LogAddress {
  checkMqttString(name);
  if (name.includes('+') || name.includes('#')) fail(name, 'a topic name cannot contain "+" or "#"');
  if (name.startsWith('$')) fail(name, 'names starting with "$" are reserved for the server');
  const topic = topicLevel(name.split('/', 2));
  checkFirstLevel(name, topic);
  return { topic, key: name };
}

/**
 * The level that names the Tributary topic: the first one, or the second when the first is
 * empty (`/devices/x` → `devices`). Only one leading empty level is passed over.
 */
function topicLevel(levels: readonly string[]): string {
  return levels[0] === '' && levels.length > 1 ? (levels[1] as string) : (levels[0] as string);
}

/** The MQTT topic name under which a record of `topic` with `key` is delivered. */
export function logToMqttTopic(topic: string, key: Uint8Array | null): string {
  if (key === null || key.length === 0) return topic;
  let text: string;
  try {
    text = utf8Decoder.decode(key);
  } catch {
    return topic;
  }
  // A name with wildcards or NUL is no topic name, and one over 64 KiB cannot be carried.
  if (/[+#\0]/.test(text) || key.length > MQTT_TOPIC_BYTES_MAX) return topic;
  if (text === topic || text.startsWith(`${topic}/`)) return text;
  if (text === `/${topic}` || text.startsWith(`/${topic}/`)) return text;
  if (key.length + topic.length + 1 > MQTT_TOPIC_BYTES_MAX) return topic;
  return `${topic}/${text}`;
}

/** Parses a SUBSCRIBE (or UNSUBSCRIBE) topic filter; throws MqttTopicError. */
export function parseTopicFilter(text: string): TopicFilter {
  checkMqttString(text);
  let filter = text;
  let shareName: string | null = null;
  if (text.startsWith(SHARE_PREFIX)) {
    const rest = text.slice(SHARE_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash < 0) fail(text, 'a shared subscription is "$share/<name>/<filter>"');
    shareName = rest.slice(0, slash);
    filter = rest.slice(slash + 1);
    if (shareName.length === 0) fail(text, 'the share name is empty');
    if (/[+#]/.test(shareName)) fail(text, 'a share name cannot contain "+" or "#"');
    if (filter.length === 0) fail(text, 'the filter after the share name is empty');
  }
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level === '#' && index !== levels.length - 1) fail(text, '"#" must be the last level');
    if (level.length > 1 && /[+#]/.test(level)) fail(text, '"+" and "#" must occupy a whole level');
  });
  const first = topicLevel(levels);
  const topic = isWildcard(first) ? null : first;
  if (topic !== null) checkFirstLevel(text, topic);
  return { filter, shareName, levels, topic };
}

/** True when `mqttTopicName` (a valid topic name) matches `filter` (MQTT §4.7). */
export function filterMatches(filter: TopicFilter, mqttTopicName: string): boolean {
  const { levels } = filter;
  if (mqttTopicName.startsWith('$') && isWildcard(levels[0]!)) return false;
  let start = 0;
  for (let index = 0; index < levels.length; index += 1) {
    const level = levels[index]!;
    if (level === '#') return true; // also when the name ended at the parent level
    if (start > mqttTopicName.length) return false; // the name has fewer levels
    let end = mqttTopicName.indexOf('/', start);
    if (end < 0) end = mqttTopicName.length;
    if (level !== '+' && mqttTopicName.slice(start, end) !== level) return false;
    start = end + 1;
  }
  return start > mqttTopicName.length; // every level of the name was consumed
}

function isWildcard(level: string): boolean {
  return level === '+' || level === '#';
}

/** Rules every MQTT UTF-8 string in a topic position follows (non-empty, no NUL, ≤ 65535 bytes). */
function checkMqttString(text: string): void {
  if (text.length === 0) fail(text, 'it is empty');
  if (text.includes('\0')) fail(text, 'it contains NUL');
  if (LONE_SURROGATE.test(text)) fail(text, 'it is not well-formed UTF-8');
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long strings need counting.
  if (text.length * 3 > MQTT_TOPIC_BYTES_MAX && utf8Encoder.encode(text).length > MQTT_TOPIC_BYTES_MAX)
    fail(text, `it is longer than ${MQTT_TOPIC_BYTES_MAX} bytes`);
}

function checkFirstLevel(text: string, topic: string): void {
  const problem = userTopicNameProblem(topic);
  if (problem !== null)
    fail(text, `its first level "${shorten(topic)}" is not a valid topic name: ${problem}`);
}

function fail(text: string, reason: string): never {
  throw new MqttTopicError(text, reason);
}

/** Keeps error messages (logged, sent as v5 reason strings) short whatever the peer sent. */
function shorten(text: string): string {
  return text.length <= 120 ? text : `${text.slice(0, 120)}…`;
}
