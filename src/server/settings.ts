/**
 * @module server/settings
 * Every setting and limit of the server, once: {@link SERVER_SETTINGS} gives each its name, unit,
 * default, valid range, `tributary serve` flag, `TRIBUTARY_*` environment variable and doc line,
 * and {@link SETTING_RELATIONS} the rules that tie limits to each other. The front ends take their
 * defaults from here, `serve --help` lists the table, and a test keeps the table of
 * `docs/http-api.md` ("Settings and limits") equal to it.
 *
 * Naming rule (as TigerBeetle's `constants.zig`): the front end first (`http`, `sse`, `ws`,
 * `kafka`; none for the process), then the thing, then the unit, then the qualifier:
 * `wsRequestsInFlightMax`, `httpBodyBytesMax`, `kafkaConnectionIdleTimeoutMs`. The flag and the
 * variable spell the same words: `--http-body-bytes-max`, `TRIBUTARY_HTTP_BODY_BYTES_MAX`.
 * Error details name the setting to change (`limitName: 'httpBodyBytesMax'`).
 *
 * Values are checked where they enter: `resolveServerConfig` (flags, env, file), `startServer`,
 * and each front end's own options; a value out of range or two settings that contradict each
 * other are an `INVALID_SETTING` error before anything listens.
 *
 * @example
 * checkSettings({ ...DEFAULT_SERVER_CONFIG, wsBrokerCreditChunkRecords: 10 });
 * const ws = pickSettings(DEFAULT_SERVER_CONFIG, WS_SETTING_NAMES);
 */
import { TributaryError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/kafka/frame.js';
import { NATIVE_PROTOCOL_LIMITS } from '../protocol/native/limits.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How `tributary serve` writes its log: `auto` is `pretty` on a terminal, `json` otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Whether TLS clients are asked for a certificate (`tlsClientAuth`; docs/security.md, "TLS"). */
export const TLS_CLIENT_AUTH_MODES = ['none', 'request', 'require'] as const;
export type TlsClientAuth = (typeof TLS_CLIENT_AUTH_MODES)[number];

/** Where a setting acts; also the first word of its name (none for `server`). */
export type SettingGroup = 'server' | 'http' | 'ws' | 'kafka' | 'socketio' | 'mqtt';

interface SettingSpecBase {
  /** The long flag of `tributary serve`, e.g. `--http-body-bytes-max`. */
  readonly flag: string;
  /** Single-letter alias, if any. */
  readonly short?: string;
  readonly env: string;
  readonly group: SettingGroup;
  /** One line: what it does (and what 0 means, where 0 is allowed). */
  readonly doc: string;
  /**
   * The name this setting had before the naming rule; still accepted (config key, flag and
   * variable spelled from it) with a deprecation warning.
   */
  readonly formerly?: string;
}

export interface NumberSettingSpec extends SettingSpecBase {
  readonly unit: 'port' | 'bytes' | 'records' | 'count' | 'ms';
  readonly default: number;
  /** Smallest valid value (inclusive). */
  readonly min: number;
  /** Largest valid value (inclusive). */
  readonly max: number;
}

export interface TextSettingSpec extends SettingSpecBase {
  readonly unit:
    | 'path'
    | 'optionalPath'
    | 'host'
    | 'optionalHost'
    | 'logLevel'
    | 'logFormat'
    | 'tlsClientAuth'
    | 'logUrl';
  readonly default: string;
}

/**
 * A list: a JSON array in a config file, comma-separated in a flag or variable
 * (`--allowed-origins https://a.example,https://b.example`).
 */
export interface ListSettingSpec extends SettingSpecBase {
  /** `origins`: browser origins (`https://app.example.com`) or `*`; `hosts`: host names or IPs without a port, or `*`. */
  readonly unit: 'origins' | 'hosts';
  readonly default: readonly string[];
}

/** On or off: `true`/`false` in a config file; a flag without a value; `1`/`0`, `true`/`false` in a variable. */
export interface BooleanSettingSpec extends SettingSpecBase {
  readonly unit: 'boolean';
  readonly default: boolean;
}

export type SettingSpec = NumberSettingSpec | TextSettingSpec | ListSettingSpec | BooleanSettingSpec;
export type SettingUnit = SettingSpec['unit'];

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Longest timer Node accepts (2^31 - 1 ms, about 24.8 days). */
const TIMER_MS_MAX = 2_147_483_647;

/** Every server setting, grouped process, HTTP + SSE, WebSocket, Kafka, MQTT. */
export const SERVER_SETTINGS = {
  // ---- process ---------------------------------------------------------------------------
  dataDir: {
    flag: '--data',
    short: '-d',
    env: 'TRIBUTARY_DATA',
    group: 'server',
    unit: 'path',
    default: './data',
    doc: 'data directory (created if missing)',
  },
  log: {
    flag: '--log',
    env: 'TRIBUTARY_LOG',
    group: 'server',
    unit: 'logUrl',
    default: '',
    doc: 'where records are stored: empty: the file log in the data directory; nats://host:port[,host:port…]: NATS JetStream, shared by every gateway given the same servers (docs/scale-out.md; the data directory then keeps only local state)',
  },
  logReplicas: {
    flag: '--log-replicas',
    env: 'TRIBUTARY_LOG_REPLICAS',
    group: 'server',
    unit: 'count',
    default: 1,
    min: 1,
    max: 3,
    doc: 'with a nats:// log: copies of each stream JetStream keeps, 1 or 3 (3 needs a cluster of at least 3 nodes)',
  },
  logGatewayTtlMs: {
    flag: '--log-gateway-ttl-ms',
    env: 'TRIBUTARY_LOG_GATEWAY_TTL_MS',
    group: 'server',
    unit: 'ms',
    default: 10_000,
    min: 1000,
    max: 600_000,
    doc: 'with a nats:// log: a gateway not heard of for this long is taken for dead, and the consumer groups it coordinated move to another gateway (docs/scale-out.md)',
  },
  logCollectionRouting: {
    flag: '--log-collection-routing',
    env: 'TRIBUTARY_LOG_COLLECTION_ROUTING',
    group: 'server',
    unit: 'boolean',
    default: true,
    doc: "with a nats:// log: a strong collection's writes go to the gateway leading their partition; false: each gateway appends its own clients' writes and races the others for the partition (docs/scale-out.md)",
  },
  logNatsCreds: {
    flag: '--log-nats-creds',
    env: 'TRIBUTARY_LOG_NATS_CREDS',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'with a nats:// log: NATS credentials file (user JWT and NKey seed); user and password may also be given in the URL (nats://user:password@host:port)',
  },
  logNatsTlsCa: {
    flag: '--log-nats-tls-ca',
    env: 'TRIBUTARY_LOG_NATS_TLS_CA',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: "with a nats:// log: PEM bundle the NATS servers' certificates are checked against; given (or tls:// URLs), the connection uses TLS",
  },
  logNatsTlsCert: {
    flag: '--log-nats-tls-cert',
    env: 'TRIBUTARY_LOG_NATS_TLS_CERT',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'with a nats:// log: PEM client certificate for NATS servers that require one (with logNatsTlsKey)',
  },
  logNatsTlsKey: {
    flag: '--log-nats-tls-key',
    env: 'TRIBUTARY_LOG_NATS_TLS_KEY',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'with a nats:// log: PEM private key of logNatsTlsCert',
  },
  port: {
    flag: '--port',
    short: '-p',
    env: 'TRIBUTARY_PORT',
    group: 'server',
    unit: 'port',
    default: 7700,
    min: 0,
    max: 65535,
    doc: 'TCP port of HTTP, SSE and WebSocket; 0: any free port',
  },
  host: {
    flag: '--host',
    short: '-H',
    env: 'TRIBUTARY_HOST',
    group: 'server',
    unit: 'host',
    default: '127.0.0.1',
    doc: 'address to listen on; 0.0.0.0 for all interfaces',
  },
  authFile: {
    flag: '--auth-file',
    env: 'TRIBUTARY_AUTH_FILE',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'the auth file (users, API keys, JWT keys, ACL rules, quotas; docs/security.md): authentication is required on every front end; re-read on SIGHUP and when it changes; empty: security off',
  },
  authTokenInQuery: {
    flag: '--auth-token-in-query',
    env: 'TRIBUTARY_AUTH_TOKEN_IN_QUERY',
    group: 'server',
    unit: 'boolean',
    default: false,
    doc: 'SSE streams also take a token as ?access_token= (for EventSource clients that can send neither a header nor the tributary_token cookie); off because URLs end up in proxy and server logs and browser history',
  },
  insecure: {
    flag: '--insecure',
    env: 'TRIBUTARY_INSECURE',
    group: 'server',
    unit: 'boolean',
    default: false,
    doc: 'allow a --host other than loopback with no authentication configured (anyone who can reach the ports can read and write everything); logged as a warning',
  },
  allowedOrigins: {
    flag: '--allowed-origins',
    env: 'TRIBUTARY_ALLOWED_ORIGINS',
    group: 'server',
    unit: 'origins',
    default: [],
    doc: "browser origins (https://app.example.com, comma-separated; * for any) that may use the HTTP API, SSE and WebSocket; the server's own origin always may; others get 403 ORIGIN_NOT_ALLOWED",
  },
  allowedHosts: {
    flag: '--allowed-hosts',
    env: 'TRIBUTARY_ALLOWED_HOSTS',
    group: 'server',
    unit: 'hosts',
    default: [],
    doc: 'host names the server answers to (Host header without port; comma-separated; * for any); others get 403 HOST_NOT_ALLOWED; empty: localhost, 127.0.0.1, [::1] and --host when on loopback, any otherwise',
  },
  logLevel: {
    flag: '--log-level',
    env: 'TRIBUTARY_LOG_LEVEL',
    group: 'server',
    unit: 'logLevel',
    default: 'info',
    doc: `log level: ${LOG_LEVELS.join(', ')}`,
  },
  logFormat: {
    flag: '--log-format',
    env: 'TRIBUTARY_LOG_FORMAT',
    group: 'server',
    unit: 'logFormat',
    default: 'auto',
    doc: 'log format: json (one JSON object per line), pretty (colored lines for people), auto (pretty when stdout is a terminal, else json)',
  },
  closeGraceMs: {
    flag: '--close-grace-ms',
    env: 'TRIBUTARY_CLOSE_GRACE_MS',
    group: 'server',
    unit: 'ms',
    default: 5000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: 'on shutdown, how long in-flight requests may finish before their connections are cut',
  },
  maintenanceIntervalMs: {
    flag: '--maintenance-interval-ms',
    env: 'TRIBUTARY_MAINTENANCE_INTERVAL_MS',
    group: 'server',
    unit: 'ms',
    default: 60_000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: 'how often retention and compaction run in the background; 0: never',
  },
  transactionalIdExpirationMs: {
    flag: '--transactional-id-expiration-ms',
    env: 'TRIBUTARY_TRANSACTIONAL_ID_EXPIRATION_MS',
    group: 'server',
    unit: 'ms',
    default: 604_800_000,
    min: 1000,
    max: TIMER_MS_MAX,
    doc: "a transactional id with no transaction in progress is forgotten after this long without a change (Kafka's transactional.id.expiration.ms)",
  },
  tlsCert: {
    flag: '--tls-cert',
    env: 'TRIBUTARY_TLS_CERT',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'PEM certificate chain of the server; with tlsKey, the HTTP/WebSocket port and the Kafka port speak TLS only (re-read on SIGHUP); empty: no TLS',
  },
  tlsKey: {
    flag: '--tls-key',
    env: 'TRIBUTARY_TLS_KEY',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'PEM private key of tlsCert (re-read with it)',
  },
  tlsCa: {
    flag: '--tls-ca',
    env: 'TRIBUTARY_TLS_CA',
    group: 'server',
    unit: 'optionalPath',
    default: '',
    doc: 'PEM bundle of the certificate authorities client certificates are checked against; empty: none',
  },
  tlsClientAuth: {
    flag: '--tls-client-auth',
    env: 'TRIBUTARY_TLS_CLIENT_AUTH',
    group: 'server',
    unit: 'tlsClientAuth',
    default: 'none',
    doc: `client certificates: ${TLS_CLIENT_AUTH_MODES.join(', ')} (request: verified if sent; require: a connection without one is refused); with the auth file's certificates.enabled, a verified certificate's subject CN is the principal of a connection without other credentials`,
  },
  tlsHandshakeTimeoutMs: {
    flag: '--tls-handshake-timeout-ms',
    env: 'TRIBUTARY_TLS_HANDSHAKE_TIMEOUT_MS',
    group: 'server',
    unit: 'ms',
    default: 10_000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'time a client has to complete the TLS handshake (both ports); then the connection is closed',
  },
  // ---- HTTP API and SSE ------------------------------------------------------------------
  httpBodyBytesMax: {
    flag: '--http-body-bytes-max',
    env: 'TRIBUTARY_HTTP_BODY_BYTES_MAX',
    group: 'http',
    unit: 'bytes',
    default: 16 * MiB,
    min: 1,
    max: GiB,
    doc: 'largest HTTP request body; a larger one gets 413 FRAME_TOO_LARGE unread',
    formerly: 'maxBodyBytes',
  },
  httpProduceRecordsMax: {
    flag: '--http-produce-records-max',
    env: 'TRIBUTARY_HTTP_PRODUCE_RECORDS_MAX',
    group: 'http',
    unit: 'records',
    default: 100_000,
    min: 1,
    max: NATIVE_PROTOCOL_LIMITS.recordsPerRequestMax,
    doc: 'most records in one HTTP produce request (413 RECORD_TOO_LARGE past it)',
    formerly: 'maxProduceRecords',
  },
  httpFetchRecordsMax: {
    flag: '--http-fetch-records-max',
    env: 'TRIBUTARY_HTTP_FETCH_RECORDS_MAX',
    group: 'http',
    unit: 'records',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'most records in one HTTP fetch answer, and the default of its ?max=',
    formerly: 'maxFetchRecords',
  },
  httpFetchBytesMax: {
    flag: '--http-fetch-bytes-max',
    env: 'TRIBUTARY_HTTP_FETCH_BYTES_MAX',
    group: 'http',
    unit: 'bytes',
    default: MiB,
    min: 1,
    max: GiB,
    doc: 'about this many record bytes per HTTP fetch answer (at least one record)',
    formerly: 'maxFetchBytes',
  },
  httpHeadersTimeoutMs: {
    flag: '--http-headers-timeout-ms',
    env: 'TRIBUTARY_HTTP_HEADERS_TIMEOUT_MS',
    group: 'http',
    unit: 'ms',
    default: 10_000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'time a client has to send the headers of a request (WebSocket upgrades too); then 408 and close',
  },
  httpRequestTimeoutMs: {
    flag: '--http-request-timeout-ms',
    env: 'TRIBUTARY_HTTP_REQUEST_TIMEOUT_MS',
    group: 'http',
    unit: 'ms',
    default: 60_000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: 'time a client has to send a whole request, headers and body; then 408 and close; 0: no limit',
  },
  httpBodyIdleTimeoutMs: {
    flag: '--http-body-idle-timeout-ms',
    env: 'TRIBUTARY_HTTP_BODY_IDLE_TIMEOUT_MS',
    group: 'http',
    unit: 'ms',
    default: 10_000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: 'longest pause between two chunks of a request body; then 408 REQUEST_TIMEOUT and close; 0: no limit',
  },
  httpKeepAliveTimeoutMs: {
    flag: '--http-keep-alive-timeout-ms',
    env: 'TRIBUTARY_HTTP_KEEP_ALIVE_TIMEOUT_MS',
    group: 'http',
    unit: 'ms',
    default: 5000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'an idle keep-alive connection (between requests) is closed after this long',
  },
  httpJsonDepthMax: {
    flag: '--http-json-depth-max',
    env: 'TRIBUTARY_HTTP_JSON_DEPTH_MAX',
    group: 'http',
    unit: 'count',
    // Room for a collection document (field values 64 deep) inside a request body; the top of
    // the range keeps answers (serialized recursively) far from the bottom of the stack.
    default: 128,
    min: 1,
    max: 1000,
    doc: 'deepest nesting of arrays and objects in JSON the HTTP API reads (400 MALFORMED_DATA past it); a stored value nested deeper reads back as valueBase64',
  },
  sseCreditRecords: {
    flag: '--sse-credit-records',
    env: 'TRIBUTARY_SSE_CREDIT_RECORDS',
    group: 'http',
    unit: 'records',
    default: 256,
    min: 1,
    max: NATIVE_PROTOCOL_LIMITS.creditMax,
    doc: 'records an SSE stream may have in flight per partition before its socket drains',
  },
  sseBufferedBytesMax: {
    flag: '--sse-buffered-bytes-max',
    env: 'TRIBUTARY_SSE_BUFFERED_BYTES_MAX',
    group: 'http',
    unit: 'bytes',
    default: 256 * KiB,
    min: 1,
    max: GiB,
    doc: 'about this many bytes of events an SSE stream may have in flight per partition (fewer records when they are large)',
  },
  sseHeartbeatMs: {
    flag: '--sse-heartbeat-ms',
    env: 'TRIBUTARY_SSE_HEARTBEAT_MS',
    group: 'http',
    unit: 'ms',
    default: 15_000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: 'interval of the SSE heartbeat comment that keeps idle streams and proxies alive; 0: none',
  },
  sseStreamsMax: {
    flag: '--sse-streams-max',
    env: 'TRIBUTARY_SSE_STREAMS_MAX',
    group: 'http',
    unit: 'count',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'open SSE streams accepted at once; more get 503 RESOURCE_EXHAUSTED',
    formerly: 'maxSseStreams',
  },
  // ---- WebSocket (docs/protocol.md) -------------------------------------------------------
  wsFrameBytesMax: {
    flag: '--ws-frame-bytes-max',
    env: 'TRIBUTARY_WS_FRAME_BYTES_MAX',
    group: 'ws',
    unit: 'bytes',
    default: NATIVE_PROTOCOL_LIMITS.maxFrameBytesDefault,
    min: 4 * KiB,
    max: GiB,
    doc: 'largest WebSocket frame either way (announced in welcome); larger: FRAME_TOO_LARGE, close 1009',
  },
  wsOversizeGraceBytes: {
    flag: '--ws-oversize-grace-bytes',
    env: 'TRIBUTARY_WS_OVERSIZE_GRACE_BYTES',
    group: 'ws',
    unit: 'bytes',
    default: NATIVE_PROTOCOL_LIMITS.maxFrameBytesDefault,
    min: 0,
    max: GiB,
    doc: 'frames up to wsFrameBytesMax + this are read whole to answer FRAME_TOO_LARGE; larger are cut unread',
  },
  wsBufferedBytesHigh: {
    flag: '--ws-buffered-bytes-high',
    env: 'TRIBUTARY_WS_BUFFERED_BYTES_HIGH',
    group: 'ws',
    unit: 'bytes',
    default: 4 * MiB,
    min: 1,
    max: GiB,
    doc: 'send buffer above which a connection stops granting credit and reading requests (until half)',
  },
  wsHeartbeatMs: {
    flag: '--ws-heartbeat-ms',
    env: 'TRIBUTARY_WS_HEARTBEAT_MS',
    group: 'ws',
    unit: 'ms',
    default: 15_000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'ping period; a client silent for two periods is disconnected (close 4000)',
  },
  wsHelloTimeoutMs: {
    flag: '--ws-hello-timeout-ms',
    env: 'TRIBUTARY_WS_HELLO_TIMEOUT_MS',
    group: 'ws',
    unit: 'ms',
    default: 10_000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'time a new WebSocket connection has to send hello (close 1002 after)',
  },
  wsRequestsInFlightMax: {
    flag: '--ws-requests-in-flight-max',
    env: 'TRIBUTARY_WS_REQUESTS_IN_FLIGHT_MAX',
    group: 'ws',
    unit: 'count',
    default: 64,
    min: 1,
    max: 1_000_000,
    doc: 'requests processed at once per WebSocket connection; past it the connection is not read',
  },
  wsPendingResponseBytesMax: {
    flag: '--ws-pending-response-bytes-max',
    env: 'TRIBUTARY_WS_PENDING_RESPONSE_BYTES_MAX',
    group: 'ws',
    unit: 'bytes',
    default: 2 * MiB,
    min: 1,
    max: GiB,
    doc: 'response bytes the requests in flight of one WebSocket connection may reserve; past it requests wait unread',
  },
  wsSubscriberBufferedBytesMax: {
    flag: '--ws-subscriber-buffered-bytes-max',
    env: 'TRIBUTARY_WS_SUBSCRIBER_BUFFERED_BYTES_MAX',
    group: 'ws',
    unit: 'bytes',
    default: 256 * KiB,
    // Deliveries are cut into frames of at most this size, less a frame's overhead.
    min: 4 * KiB,
    max: GiB,
    doc: 'send buffer above which deliveries to a connection stop: what a subscriber that stopped reading pins',
  },
  wsSubscriptionsPerConnectionMax: {
    flag: '--ws-subscriptions-per-connection-max',
    env: 'TRIBUTARY_WS_SUBSCRIPTIONS_PER_CONNECTION_MAX',
    group: 'ws',
    unit: 'count',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'open subscriptions per WebSocket connection',
  },
  wsMembershipsPerConnectionMax: {
    flag: '--ws-memberships-per-connection-max',
    env: 'TRIBUTARY_WS_MEMBERSHIPS_PER_CONNECTION_MAX',
    group: 'ws',
    unit: 'count',
    default: 100,
    min: 1,
    max: 1_000_000,
    doc: 'consumer-group memberships per WebSocket connection',
  },
  wsCreditMax: {
    flag: '--ws-credit-max',
    env: 'TRIBUTARY_WS_CREDIT_MAX',
    group: 'ws',
    unit: 'records',
    default: NATIVE_PROTOCOL_LIMITS.creditMax,
    min: 1,
    max: NATIVE_PROTOCOL_LIMITS.creditMax,
    doc: 'unused credit one subscription may hold',
  },
  wsBrokerCreditChunkRecords: {
    flag: '--ws-broker-credit-chunk-records',
    env: 'TRIBUTARY_WS_BROKER_CREDIT_CHUNK_RECORDS',
    group: 'ws',
    unit: 'records',
    // One broker delivery (maxDeliveryRecords); fewer when records are large (sized by bytes).
    default: 1000,
    min: 1,
    max: NATIVE_PROTOCOL_LIMITS.creditMax,
    doc: 'credit passed on to the broker per subscription at a time; the rest waits for the socket',
  },
  wsProtocolErrorsMax: {
    flag: '--ws-protocol-errors-max',
    env: 'TRIBUTARY_WS_PROTOCOL_ERRORS_MAX',
    group: 'ws',
    unit: 'count',
    default: 100,
    min: 1,
    max: 1_000_000_000,
    doc: 'protocol errors one WebSocket connection may cause before it is closed (1008)',
  },
  // ---- Kafka (docs/kafka.md) --------------------------------------------------------------
  kafkaPort: {
    flag: '--kafka-port',
    env: 'TRIBUTARY_KAFKA_PORT',
    group: 'kafka',
    unit: 'port',
    default: 9092,
    min: 0,
    max: 65535,
    doc: 'TCP port of the Kafka protocol listener (on --host); 0: off',
  },
  kafkaAdvertisedHost: {
    flag: '--kafka-advertised-host',
    env: 'TRIBUTARY_KAFKA_ADVERTISED_HOST',
    group: 'kafka',
    unit: 'optionalHost',
    default: '',
    doc: 'host Kafka clients are told to connect to; empty: the --host value (the machine name for 0.0.0.0)',
  },
  kafkaFrameBytesMax: {
    flag: '--kafka-frame-bytes-max',
    env: 'TRIBUTARY_KAFKA_FRAME_BYTES_MAX',
    group: 'kafka',
    unit: 'bytes',
    default: DEFAULT_MAX_FRAME_BYTES,
    min: 4 * KiB,
    max: 2 * GiB - 1,
    doc: "largest Kafka request (Kafka's socket.request.max.bytes); a larger one closes the connection",
  },
  kafkaRequestsInFlightMax: {
    flag: '--kafka-requests-in-flight-max',
    env: 'TRIBUTARY_KAFKA_REQUESTS_IN_FLIGHT_MAX',
    group: 'kafka',
    unit: 'count',
    default: 64,
    min: 1,
    max: 1_000_000,
    doc: 'requests handled at once per Kafka connection; past it the connection is not read',
  },
  kafkaPendingResponseBytesMax: {
    flag: '--kafka-pending-response-bytes-max',
    env: 'TRIBUTARY_KAFKA_PENDING_RESPONSE_BYTES_MAX',
    group: 'kafka',
    unit: 'bytes',
    default: 2 * MiB,
    min: 1,
    max: GiB,
    doc: 'response bytes the open requests of one Kafka connection may reserve (caps Fetch max_bytes), and its socket may buffer',
  },
  kafkaDecompressedBytesMax: {
    flag: '--kafka-decompressed-bytes-max',
    env: 'TRIBUTARY_KAFKA_DECOMPRESSED_BYTES_MAX',
    group: 'kafka',
    unit: 'bytes',
    default: 64 * MiB,
    min: 1,
    max: 2 * GiB - 1,
    doc: 'largest size a compressed batch may inflate to (MESSAGE_TOO_LARGE past it)',
  },
  kafkaFetchWaitMsMax: {
    flag: '--kafka-fetch-wait-ms-max',
    env: 'TRIBUTARY_KAFKA_FETCH_WAIT_MS_MAX',
    group: 'kafka',
    unit: 'ms',
    default: 30_000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: 'longest a Fetch is held waiting for data, whatever its max_wait_ms asks',
  },
  kafkaFetchRecordsMax: {
    flag: '--kafka-fetch-records-max',
    env: 'TRIBUTARY_KAFKA_FETCH_RECORDS_MAX',
    group: 'kafka',
    unit: 'records',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'most records read from one partition for one Fetch',
  },
  kafkaConnectionIdleTimeoutMs: {
    flag: '--kafka-connection-idle-timeout-ms',
    env: 'TRIBUTARY_KAFKA_CONNECTION_IDLE_TIMEOUT_MS',
    group: 'kafka',
    unit: 'ms',
    default: 600_000,
    min: 0,
    max: TIMER_MS_MAX,
    doc: "a Kafka connection with no request in progress and no bytes for this long is closed (Kafka's connections.max.idle.ms); 0: never",
  },
  kafkaAuthenticationTimeoutMs: {
    flag: '--kafka-authentication-timeout-ms',
    env: 'TRIBUTARY_KAFKA_AUTHENTICATION_TIMEOUT_MS',
    group: 'kafka',
    unit: 'ms',
    default: 10_000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'with security on, a Kafka connection that has not completed SASL authentication this long after it opened is closed (ApiVersions alone does not keep a stranger connected)',
  },
  // ---- Socket.IO endpoint (docs/socket.io.md) ----------------------------------------------
  socketioEnabled: {
    flag: '--socketio-enabled',
    env: 'TRIBUTARY_SOCKETIO_ENABLED',
    group: 'socketio',
    unit: 'boolean',
    default: true,
    doc: 'answer Socket.IO clients (engine.io v4, WebSocket and long-polling) at /socket.io/ on the HTTP port',
  },
  socketioMessageBytesMax: {
    flag: '--socketio-message-bytes-max',
    env: 'TRIBUTARY_SOCKETIO_MESSAGE_BYTES_MAX',
    group: 'socketio',
    unit: 'bytes',
    default: MiB,
    min: 4 * KiB,
    max: 256 * MiB,
    doc: "largest engine.io message from a client (a WebSocket frame, a polling request's body); larger: that client is disconnected (engine.io maxHttpBufferSize)",
  },
  socketioPingIntervalMs: {
    flag: '--socketio-ping-interval-ms',
    env: 'TRIBUTARY_SOCKETIO_PING_INTERVAL_MS',
    group: 'socketio',
    unit: 'ms',
    default: 25_000,
    min: 100,
    max: TIMER_MS_MAX,
    doc: 'how often the server pings each Socket.IO client (engine.io pingInterval)',
  },
  socketioPingTimeoutMs: {
    flag: '--socketio-ping-timeout-ms',
    env: 'TRIBUTARY_SOCKETIO_PING_TIMEOUT_MS',
    group: 'socketio',
    unit: 'ms',
    default: 20_000,
    min: 100,
    max: TIMER_MS_MAX,
    doc: 'a client whose pong is this late is disconnected, which also drops a client that stopped reading (engine.io pingTimeout)',
  },
  socketioConnectTimeoutMs: {
    flag: '--socketio-connect-timeout-ms',
    env: 'TRIBUTARY_SOCKETIO_CONNECT_TIMEOUT_MS',
    group: 'socketio',
    unit: 'ms',
    default: 45_000,
    min: 100,
    max: TIMER_MS_MAX,
    doc: 'an engine.io connection that has joined no namespace this long after its handshake is closed (Socket.IO connectTimeout)',
  },
  socketioSendBufferPacketsMax: {
    flag: '--socketio-send-buffer-packets-max',
    env: 'TRIBUTARY_SOCKETIO_SEND_BUFFER_PACKETS_MAX',
    group: 'socketio',
    unit: 'count',
    default: 512,
    min: 1,
    max: 1_000_000,
    doc: 'packets waiting to be written to one client before its deliveries pause until they are (paced from the log, never buffered further)',
  },
  socketioEmitsInFlightMax: {
    flag: '--socketio-emits-in-flight-max',
    env: 'TRIBUTARY_SOCKETIO_EMITS_IN_FLIGHT_MAX',
    group: 'socketio',
    unit: 'count',
    default: 4096,
    min: 1,
    max: 1_000_000,
    doc: 'events of one socket being appended at once; from an eighth of it a WebSocket client is not read from until appends catch up; past it events are refused (ack with RESOURCE_EXHAUSTED)',
  },
  socketioWatchesPerSocketMax: {
    flag: '--socketio-watches-per-socket-max',
    env: 'TRIBUTARY_SOCKETIO_WATCHES_PER_SOCKET_MAX',
    group: 'socketio',
    unit: 'count',
    default: 64,
    min: 0,
    max: 10_000,
    doc: 'live-collection watches (tributary:watch) one socket may hold',
  },
  socketioRoomsPerSocketMax: {
    flag: '--socketio-rooms-per-socket-max',
    env: 'TRIBUTARY_SOCKETIO_ROOMS_PER_SOCKET_MAX',
    group: 'socketio',
    unit: 'count',
    default: 256,
    min: 0,
    max: 100_000,
    doc: 'rooms (tributary:join) one socket may be in',
  },
  socketioSessionsMax: {
    flag: '--socketio-sessions-max',
    env: 'TRIBUTARY_SOCKETIO_SESSIONS_MAX',
    group: 'socketio',
    unit: 'count',
    default: 100_000,
    min: 0,
    max: 10_000_000,
    doc: 'connection-state-recovery sessions remembered (in __socket.io.sessions); past it the oldest are forgotten; 0: no recovery',
  },
  socketioSessionTtlMs: {
    flag: '--socketio-session-ttl-ms',
    env: 'TRIBUTARY_SOCKETIO_SESSION_TTL_MS',
    group: 'socketio',
    unit: 'ms',
    default: 7 * 24 * 3_600_000,
    min: 1_000,
    max: 366 * 24 * 3_600_000,
    doc: 'how long after its last connect a Socket.IO session can be recovered (missed events are replayed from the topic while it retains them)',
  },
  // ---- MQTT (docs/mqtt.md) ---------------------------------------------------------------
  mqttPort: {
    flag: '--mqtt-port',
    env: 'TRIBUTARY_MQTT_PORT',
    group: 'mqtt',
    unit: 'port',
    default: 1883,
    min: 0,
    max: 65535,
    doc: 'TCP port of the MQTT listener (on --host; TLS when the server has TLS); 0: off. MQTT over WebSocket is always on /mqtt of the HTTP port',
  },
  mqttPacketBytesMax: {
    flag: '--mqtt-packet-bytes-max',
    env: 'TRIBUTARY_MQTT_PACKET_BYTES_MAX',
    group: 'mqtt',
    unit: 'bytes',
    default: MiB,
    min: KiB,
    max: 256 * MiB - 1,
    doc: 'largest MQTT packet accepted (announced to MQTT 5 clients as Maximum Packet Size); a larger one is refused before it is read (DISCONNECT 0x95, then close)',
  },
  mqttInboundInFlightMax: {
    flag: '--mqtt-inbound-in-flight-max',
    env: 'TRIBUTARY_MQTT_INBOUND_IN_FLIGHT_MAX',
    group: 'mqtt',
    unit: 'count',
    default: 64,
    min: 1,
    max: 65535,
    doc: 'PUBLISH packets of one connection being made durable at once (announced to MQTT 5 clients as Receive Maximum); past it the connection is not read',
  },
  mqttOutboundInFlightMax: {
    flag: '--mqtt-outbound-in-flight-max',
    env: 'TRIBUTARY_MQTT_OUTBOUND_IN_FLIGHT_MAX',
    group: 'mqtt',
    unit: 'count',
    default: 64,
    min: 1,
    max: 65535,
    doc: "QoS 1 and 2 messages sent to one client and not yet acknowledged (an MQTT 5 client's Receive Maximum lowers it); also the records asked of the broker per partition at a time",
  },
  mqttSendBufferedBytesMax: {
    flag: '--mqtt-send-buffered-bytes-max',
    env: 'TRIBUTARY_MQTT_SEND_BUFFERED_BYTES_MAX',
    group: 'mqtt',
    unit: 'bytes',
    default: 256 * KiB,
    min: 1,
    max: GiB,
    doc: 'send buffer above which deliveries to an MQTT connection stop until it drains: what a client that stopped reading pins',
  },
  mqttConnectTimeoutMs: {
    flag: '--mqtt-connect-timeout-ms',
    env: 'TRIBUTARY_MQTT_CONNECT_TIMEOUT_MS',
    group: 'mqtt',
    unit: 'ms',
    default: 10_000,
    min: 1,
    max: TIMER_MS_MAX,
    doc: 'time a new MQTT connection has to send CONNECT and be authenticated (closed after)',
  },
  mqttKeepAliveMsMax: {
    flag: '--mqtt-keep-alive-ms-max',
    env: 'TRIBUTARY_MQTT_KEEP_ALIVE_MS_MAX',
    group: 'mqtt',
    unit: 'ms',
    default: 0,
    min: 0,
    max: 65_535_000,
    doc: "longest keep-alive an MQTT client may use, whole seconds (MQTT 5 clients are told Server Keep Alive; 3.1.1 clients are held to it); 0: the client's own, 0 (none) included",
  },
  mqttSubscriptionsPerConnectionMax: {
    flag: '--mqtt-subscriptions-per-connection-max',
    env: 'TRIBUTARY_MQTT_SUBSCRIPTIONS_PER_CONNECTION_MAX',
    group: 'mqtt',
    unit: 'count',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'topic filters one MQTT session may subscribe to; past it SUBACK refuses (0x97 Quota exceeded; 0x80 for 3.1.1)',
  },
  mqttAutoCreateTopics: {
    flag: '--mqtt-auto-create-topics',
    env: 'TRIBUTARY_MQTT_AUTO_CREATE_TOPICS',
    group: 'mqtt',
    unit: 'boolean',
    default: true,
    doc: 'an MQTT PUBLISH to a topic that does not exist creates it (1 partition; needs create with security on)',
  },
  mqttSessionExpiryMsMax: {
    flag: '--mqtt-session-expiry-ms-max',
    env: 'TRIBUTARY_MQTT_SESSION_EXPIRY_MS_MAX',
    group: 'mqtt',
    unit: 'ms',
    default: 0,
    min: 0,
    max: 4_294_967_295_000,
    doc: 'longest a persistent MQTT session is kept after its connection ends, whole seconds (caps MQTT 5 Session Expiry Interval; 3.1.1 clean-session-0 sessions never expire otherwise); 0: no cap',
  },
  mqttRetainedMessagesMax: {
    flag: '--mqtt-retained-messages-max',
    env: 'TRIBUTARY_MQTT_RETAINED_MESSAGES_MAX',
    group: 'mqtt',
    unit: 'count',
    default: 100_000,
    min: 0,
    max: 100_000_000,
    doc: 'MQTT retained messages held (all in memory); a retained PUBLISH for a new topic name past it is refused (0x97 Quota exceeded; 3.1.1: the connection is closed); 0: retained messages are refused',
  },
  mqttRetainedBytesMax: {
    flag: '--mqtt-retained-bytes-max',
    env: 'TRIBUTARY_MQTT_RETAINED_BYTES_MAX',
    group: 'mqtt',
    unit: 'bytes',
    default: 256 * MiB,
    min: 0,
    max: 64 * GiB,
    doc: 'bytes of MQTT retained messages held (topic names, payloads and headers, all in memory); a retained PUBLISH that would pass it is refused like one past mqttRetainedMessagesMax',
  },
  mqttWillsDelayedMax: {
    flag: '--mqtt-wills-delayed-max',
    env: 'TRIBUTARY_MQTT_WILLS_DELAYED_MAX',
    group: 'mqtt',
    unit: 'count',
    default: 100_000,
    min: 0,
    max: 100_000_000,
    doc: 'MQTT 5 last wills held for their Will Delay Interval (in memory, not across restarts); past it a will is published at once',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SERVER_SETTINGS;

type SettingValue<S> = S extends { readonly unit: 'logLevel' }
  ? LogLevel
  : S extends { readonly unit: 'logFormat' }
    ? LogFormat
    : S extends { readonly unit: 'tlsClientAuth' }
      ? TlsClientAuth
      : S extends { readonly default: number }
        ? number
        : S extends { readonly default: boolean }
          ? boolean
          : S extends { readonly unit: 'origins' | 'hosts' }
            ? readonly string[]
            : string;

/** The value of every setting (the `default` of {@link SERVER_SETTINGS} when none was given). */
export type ServerConfig = { readonly [K in SettingName]: SettingValue<(typeof SERVER_SETTINGS)[K]> };

export const SETTING_NAMES = Object.keys(SERVER_SETTINGS) as SettingName[];

export const DEFAULT_SERVER_CONFIG: ServerConfig = Object.fromEntries(
  SETTING_NAMES.map((name) => [name, SERVER_SETTINGS[name].default]),
) as unknown as ServerConfig;

/** The spec of any setting, without the literal types of the table. */
export function settingSpec(name: SettingName): SettingSpec {
  return SERVER_SETTINGS[name];
}

/** The names of the settings of one group. */
export type SettingNameOf<G extends SettingGroup> = {
  [K in SettingName]: (typeof SERVER_SETTINGS)[K]['group'] extends G ? K : never;
}[SettingName];

/** Names of the settings of one group, in table order. */
export function settingNamesOf<G extends SettingGroup>(group: G): SettingNameOf<G>[] {
  return SETTING_NAMES.filter((name) => SERVER_SETTINGS[name].group === group) as SettingNameOf<G>[];
}

/** A rule between settings; {@link checkSettings} refuses a configuration that breaks it. */
export interface SettingRelation {
  /** The settings involved; the first is the one named in the error. */
  readonly settings: readonly [SettingName, ...SettingName[]];
  /** The rule in words, as `docs/http-api.md` lists it. */
  readonly rule: string;
  readonly holds: (config: ServerConfig) => boolean;
}

/** Rules between settings, checked at start-up. */
export const SETTING_RELATIONS: readonly SettingRelation[] = [
  {
    settings: ['httpHeadersTimeoutMs', 'httpRequestTimeoutMs'],
    rule: 'httpHeadersTimeoutMs ≤ httpRequestTimeoutMs (unless httpRequestTimeoutMs is 0): the headers are part of the request',
    holds: (c) => c.httpRequestTimeoutMs === 0 || c.httpHeadersTimeoutMs <= c.httpRequestTimeoutMs,
  },
  {
    settings: ['httpBodyIdleTimeoutMs', 'httpRequestTimeoutMs'],
    rule: 'httpBodyIdleTimeoutMs ≤ httpRequestTimeoutMs (unless either is 0): a longer pause could never be waited for',
    holds: (c) =>
      c.httpBodyIdleTimeoutMs === 0 ||
      c.httpRequestTimeoutMs === 0 ||
      c.httpBodyIdleTimeoutMs <= c.httpRequestTimeoutMs,
  },
  {
    settings: ['wsSubscriberBufferedBytesMax', 'wsBufferedBytesHigh'],
    rule: 'wsSubscriberBufferedBytesMax ≤ wsBufferedBytesHigh: deliveries stop before requests do, so a subscriber that stopped reading cannot hold up the answers to its connection',
    holds: (c) => c.wsSubscriberBufferedBytesMax <= c.wsBufferedBytesHigh,
  },
  {
    settings: ['wsBrokerCreditChunkRecords', 'wsCreditMax'],
    rule: 'wsBrokerCreditChunkRecords ≤ wsCreditMax: a chunk is a part of the credit a subscription holds',
    holds: (c) => c.wsBrokerCreditChunkRecords <= c.wsCreditMax,
  },
  {
    settings: ['tlsCert', 'tlsKey'],
    rule: 'tlsCert and tlsKey are given together or not at all: TLS needs both the certificate and its key',
    holds: (c) => (c.tlsCert === '') === (c.tlsKey === ''),
  },
  {
    settings: ['logReplicas'],
    rule: 'logReplicas is 1 or 3: JetStream replicates a stream to an odd number of nodes',
    holds: (c) => c.logReplicas !== 2,
  },
  {
    settings: ['logNatsTlsCert', 'logNatsTlsKey'],
    rule: 'logNatsTlsCert and logNatsTlsKey together or not at all',
    holds: (c) => (c.logNatsTlsCert === '') === (c.logNatsTlsKey === ''),
  },
  {
    settings: ['tlsCa', 'tlsCert'],
    rule: 'tlsCa only with tlsCert: client certificates are checked only on TLS connections',
    holds: (c) => c.tlsCa === '' || c.tlsCert !== '',
  },
  {
    settings: ['tlsClientAuth', 'tlsCa'],
    rule: 'tlsClientAuth request or require needs tlsCa: client certificates are checked against it',
    holds: (c) => c.tlsClientAuth === 'none' || c.tlsCa !== '',
  },
];

/** Why `value` is not valid for the setting (a sentence), or undefined when it is. */
export function valueProblem(spec: SettingSpec, value: unknown): string | undefined {
  switch (spec.unit) {
    case 'path':
      if (typeof value !== 'string' || value.trim() === '') return 'it must be a non-empty string.';
      if (value.includes('\0')) return 'it contains a NUL byte.';
      return undefined;
    case 'optionalPath':
      if (typeof value !== 'string') return 'it must be a string (a file path, or empty for none).';
      if (value.includes('\0')) return 'it contains a NUL byte.';
      return undefined;
    case 'logUrl':
      if (typeof value !== 'string') return 'it must be a string (empty, or nats://host:port[,host:port…]).';
      return logUrlProblem(value);
    case 'tlsClientAuth':
      if (typeof value !== 'string' || !(TLS_CLIENT_AUTH_MODES as readonly string[]).includes(value))
        return `it must be one of ${TLS_CLIENT_AUTH_MODES.join(', ')}.`;
      return undefined;
    case 'host':
      if (typeof value !== 'string' || value.trim() === '' || /[\s/]/.test(value))
        return 'The host must be a host name or an IP address, e.g. 127.0.0.1.';
      return undefined;
    case 'optionalHost':
      if (typeof value !== 'string' || /[\s/]/.test(value))
        return 'The host must be a host name or an IP address, e.g. 127.0.0.1 (or empty for the default).';
      return undefined;
    case 'logLevel':
      if (typeof value !== 'string' || !(LOG_LEVELS as readonly string[]).includes(value))
        return `it must be one of ${LOG_LEVELS.join(', ')}.`;
      return undefined;
    case 'logFormat':
      if (typeof value !== 'string' || !(LOG_FORMATS as readonly string[]).includes(value))
        return `it must be one of ${LOG_FORMATS.join(', ')}.`;
      return undefined;
    case 'port':
      if (!isIntIn(value, spec.min, spec.max)) return 'The port must be an integer from 0 to 65535.';
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'it must be true or false.';
    case 'origins':
      return listProblem(value, originProblem);
    case 'hosts':
      return listProblem(value, hostProblem);
    default:
      if (!isIntIn(value, spec.min, spec.max)) {
        return `it must be an integer ${rangeText(spec)}${spec.unit === 'ms' ? ' (milliseconds)' : ''}.`;
      }
      return undefined;
  }
}

/** Why a `log` setting is not empty nor a list of NATS server URLs, or undefined. */
function logUrlProblem(value: string): string | undefined {
  if (value === '') return undefined;
  for (const [i, url] of value.split(',').entries()) {
    // The first server names the scheme; the others may leave it out (nats://a:4222,b:4222).
    const scheme = i === 0 ? '(nats|tls):\\/\\/' : '(?:(nats|tls):\\/\\/)?';
    const match = new RegExp(`^${scheme}(?:[^@/\\s]+@)?[^:/\\s@]+(?::(\\d{1,5}))?$`).exec(url.trim());
    if (match === null || (match[2] !== undefined && Number(match[2]) > 65535)) {
      return `"${url.trim()}" is not a NATS server URL: nats://host:port[,host:port…] (tls:// for TLS), or empty for the file log.`;
    }
  }
  return undefined;
}

/** The valid range in words, e.g. `from 1 to 1073741824`. */
export function rangeText(spec: NumberSettingSpec): string {
  return `from ${spec.min} to ${spec.max}`;
}

/**
 * Checks the given settings: each against its range, then every relation whose settings are all
 * given. Throws `INVALID_SETTING` naming the first setting that is wrong and why.
 */
export function checkSettings(settings: Readonly<Partial<Record<SettingName, unknown>>>): void {
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (!(name in SERVER_SETTINGS)) {
      throw new TributaryError('INVALID_SETTING', { setting: name, reason: 'there is no such setting' });
    }
    const problem = valueProblem(settingSpec(name as SettingName), value);
    if (problem !== undefined) {
      throw new TributaryError('INVALID_SETTING', {
        setting: name,
        reason: `${JSON.stringify(value)} is out of range: ${problem}`,
      });
    }
  }
  for (const relation of SETTING_RELATIONS) {
    if (relation.settings.some((name) => settings[name] === undefined)) continue;
    if (relation.holds(settings as ServerConfig)) continue;
    const values = relation.settings.map((name) => `${name} = ${String(settings[name])}`).join(', ');
    throw new TributaryError('INVALID_SETTING', {
      setting: relation.settings[0],
      reason: `${values} breaks the rule ${relation.rule}`,
    });
  }
}

/**
 * Merges overrides onto the defaults of a group of settings and checks the result
 * ({@link checkSettings}): what a front end mounted on its own (`attachWebSocketFrontEnd`,
 * `startKafkaFrontEnd`) does with its `limits` option.
 */
export function resolveGroupSettings<N extends SettingName>(
  names: readonly N[],
  overrides: Readonly<Partial<Record<string, unknown>>> = {},
): Pick<ServerConfig, N> {
  const result: Record<string, unknown> = {};
  for (const name of names) result[name] = DEFAULT_SERVER_CONFIG[name];
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(names as readonly string[]).includes(name)) {
      throw new TributaryError('INVALID_SETTING', {
        setting: name,
        reason: `it is not one of the settings here (${names.join(', ')})`,
      });
    }
    result[name] = value;
  }
  checkSettings(result);
  return result as Pick<ServerConfig, N>;
}

/** The settings of a front end: their names, defaults and the resolving of a `limits` option. */
export interface FrontEndSettings<N extends SettingName> {
  /** The names, in table order. */
  readonly names: readonly N[];
  /** Their values in `DEFAULT_SERVER_CONFIG`. */
  readonly defaults: Pick<ServerConfig, N>;
  /** The defaults with `overrides` applied, checked ({@link resolveGroupSettings}). */
  resolve(overrides?: Partial<Pick<ServerConfig, N>>): Pick<ServerConfig, N>;
}

/** The settings of `group` other than `excluded` (a listener's port or host, say), as a front end uses them. */
export function frontEndSettings<G extends SettingGroup, X extends SettingNameOf<G> = never>(
  group: G,
  excluded: readonly X[] = [],
): FrontEndSettings<Exclude<SettingNameOf<G>, X>> {
  type N = Exclude<SettingNameOf<G>, X>;
  const names = settingNamesOf(group).filter(
    (name): name is N => !(excluded as readonly SettingName[]).includes(name),
  );
  return {
    names,
    defaults: pickSettings(DEFAULT_SERVER_CONFIG, names),
    resolve: (overrides = {}) => resolveGroupSettings(names, overrides),
  };
}

/** The given settings out of a full configuration. */
export function pickSettings<N extends SettingName>(
  config: Pick<ServerConfig, N>,
  names: readonly N[],
): Pick<ServerConfig, N> {
  const result: Record<string, unknown> = {};
  for (const name of names) result[name] = config[name];
  return result as Pick<ServerConfig, N>;
}

function listProblem(value: unknown, itemProblem: (item: string) => string | undefined): string | undefined {
  if (!Array.isArray(value))
    return 'it must be a list (a JSON array of strings; comma-separated in a flag or variable).';
  for (const item of value as unknown[]) {
    if (typeof item !== 'string') return `${JSON.stringify(item)} is not a string.`;
    if (item === '*') continue;
    const problem = itemProblem(item);
    if (problem !== undefined) return `"${item}" ${problem}`;
  }
  return undefined;
}

/**
 * Why `item` is not an origin as browsers send it in the `Origin` header (scheme, host, port
 * unless the default; lower case; no path), or undefined. Allowed origins are compared to the
 * header as strings, so a spelling the browser never sends would never match.
 */
function originProblem(item: string): string | undefined {
  if (item === 'null')
    return 'is the origin of sandboxed pages and local files, which any page can take on; it cannot be allowed.';
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    return 'is not an origin: write scheme://host[:port], e.g. https://app.example.com.';
  }
  if (url.origin === 'null') return 'has no origin a browser would send (use http:// or https://).';
  if (url.origin !== item) return `is not written as browsers send it: write ${url.origin}.`;
  return undefined;
}

/** Why `item` is not a host name or IP address as it appears in a `Host` header without its port, or undefined. */
function hostProblem(item: string): string | undefined {
  if (/^\[[0-9a-f:.]+\]$/.test(item)) return undefined;
  if (item.includes(':')) return 'is not a host: give no port, and an IPv6 address in brackets ([::1]).';
  if (!/^[a-z0-9.-]+$/.test(item) || item.startsWith('.') || item.endsWith('.'))
    return 'is not a host name or IPv4 address in lower case, e.g. app.example.com or 192.168.1.10.';
  return undefined;
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
