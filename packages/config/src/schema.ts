import Type, { type Static, type TSchema } from 'typebox';

// Every environment variable Hubstream reads, in one place. ENVS.md documents
// them and test/envs-doc.test.ts fails when the two drift apart. Each variable
// carries `expected` (a human phrase used in error messages) and `description`
// (the sentence ENVS.md shows).

type Meta = { description: string };

const port = (fallback: number, meta: Meta) =>
  Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: fallback,
    expected: 'a port number from 0 to 65535',
    ...meta,
  });

const positiveInt = (fallback: number, meta: Meta) =>
  Type.Integer({
    minimum: 1,
    default: fallback,
    expected: 'a whole number of at least 1',
    ...meta,
  });

const text = (fallback: string, meta: Meta) =>
  Type.String({ minLength: 1, default: fallback, expected: 'a non-empty string', ...meta });

const url = (protocols: readonly string[], meta: Meta) =>
  Type.Optional(
    Type.String({
      pattern: `^(${protocols.join('|')})://[^\\s]+$`,
      expected: `a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
      ...meta,
    }),
  );

const oneOf = <const T extends readonly string[]>(values: T, fallback: T[number], meta: Meta) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: fallback, expected: `one of ${values.join(', ')}`, ...meta },
  );

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = Type.Object(
  {
    DATABASE_URL: url(['postgres', 'postgresql'], {
      description:
        'Postgres connection string. Unset: the embedded PGlite database under DATA_DIR (single-process mode only).',
    }),
    REDIS_URL: url(['redis', 'rediss'], {
      description:
        'Redis connection string. Unset: in-process bus, caches and inline jobs (single-process mode only).',
    }),
    HTTP_HOST: text('127.0.0.1', {
      description: 'Address the control plane (HTTP API and dashboard) listens on.',
    }),
    HTTP_PORT: port(3000, { description: 'Port of the control plane.' }),
    REALTIME_HOST: text('127.0.0.1', {
      description: 'Address the realtime node (deepstream WebSocket endpoint) listens on.',
    }),
    REALTIME_PORT: port(6020, { description: 'Port of the realtime node.' }),
    DATA_DIR: text('./.hubstream', {
      description: 'Directory for embedded data (the PGlite database) when DATABASE_URL is unset.',
    }),
    PUBLIC_HTTP_URL: url(['http', 'https'], {
      description: 'URL at which users reach the control plane. Unset: http://localhost:HTTP_PORT.',
    }),
    PUBLIC_REALTIME_URL: url(['ws', 'wss', 'http', 'https'], {
      description:
        'Base URL at which clients reach realtime nodes; app URLs are this plus /APP_ID. Unset: ws://localhost:REALTIME_PORT.',
    }),
    REALTIME_INTERNAL_URL: url(['http', 'https'], {
      description:
        "Where the control plane reaches a realtime node's HTTP data API (a node or the nodes' load balancer) for the dashboard's data browser. Unset: PUBLIC_REALTIME_URL with http(s). `pnpm start` needs none.",
    }),
    TLS_CERT_FILE: Type.Optional(
      Type.String({
        minLength: 1,
        expected: 'a file path',
        description:
          'PEM certificate (leaf first, then its chain) that the control plane and the realtime node present: they serve https:// and wss://. Needs TLS_KEY_FILE. Replaced files are picked up without a restart (see TLS_RELOAD_INTERVAL_MS).',
      }),
    ),
    TLS_KEY_FILE: Type.Optional(
      Type.String({
        minLength: 1,
        expected: 'a file path',
        description: 'PEM private key of TLS_CERT_FILE. Set both or neither.',
      }),
    ),
    TLS_RELOAD_INTERVAL_MS: positiveInt(5_000, {
      description:
        'How often the servers look at TLS_CERT_FILE and TLS_KEY_FILE for a new certificate; new connections get it, open ones stay up.',
    }),
    TLS_SELF_SIGNED: oneOf(['auto', 'true', 'false'] as const, 'auto', {
      description:
        'Without TLS_CERT_FILE: true makes a local CA and a certificate for localhost into DATA_DIR/tls (once; reused after), prints its SHA-256 fingerprint and serves TLS with it. auto: the same, but only for pnpm start with both servers on loopback. false: never.',
    }),
    TLS_TERMINATED_BY_PROXY: Type.Boolean({
      default: false,
      expected: 'true or false',
      description:
        'A TLS-terminating proxy or load balancer is in front: the servers may listen in plaintext on any address, and clients use PUBLIC_HTTP_URL and PUBLIC_REALTIME_URL (set them to https:// and wss://).',
    }),
    TRUSTED_PROXIES: Type.Optional(
      Type.String({
        pattern:
          '^\\s*(loopback|linklocal|uniquelocal|[0-9A-Fa-f:.]+(/[0-9]{1,3})?)(\\s*,\\s*(loopback|linklocal|uniquelocal|[0-9A-Fa-f:.]+(/[0-9]{1,3})?))*\\s*$',
        expected:
          'a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal',
        description:
          'Comma-separated addresses or CIDR ranges (or loopback, linklocal, uniquelocal) of proxies whose X-Forwarded-For, -Proto and -Host are believed (client address, https). Unset: no one is; the headers are ignored.',
      }),
    ),
    ALLOW_PLAINTEXT: Type.Boolean({
      default: false,
      expected: 'true or false',
      description:
        'Let the servers serve plain http:// and ws:// on a non-loopback address without TLS or TLS_TERMINATED_BY_PROXY. Without it they refuse to start there.',
    }),
    LOG_LEVEL: oneOf(LOG_LEVELS, 'info', { description: 'Minimum level of the JSON logs.' }),
    METRICS_TOKEN: Type.Optional(
      Type.String({
        pattern: '^[\\x21-\\x7e]{16,}$',
        expected: 'at least 16 printable characters without spaces',
        description:
          'Bearer token that Prometheus sends to GET /metrics (Authorization: Bearer TOKEN). Unset: /metrics answers only loopback requests that no proxy forwarded.',
      }),
    ),
    ACCOUNT_RATE_LIMIT_MAX: positiveInt(10, {
      description:
        'Sign-ups, log-ins and password-reset requests allowed per client address and route in each window.',
    }),
    ACCOUNT_RATE_LIMIT_WINDOW_MS: positiveInt(60_000, {
      description: 'The window of ACCOUNT_RATE_LIMIT_MAX.',
    }),
    SMTP_URL: url(['smtp', 'smtps'], {
      description:
        'SMTP server for developer emails (verification, password reset), e.g. smtp://user:pass@mail.example.com:587. Unset: emails are written as .eml files to DATA_DIR/outbox.',
    }),
    MAIL_FROM: text('Hubstream <no-reply@localhost>', {
      description: 'Sender of developer emails.',
    }),
    HEARTBEAT_INTERVAL_MS: positiveInt(30_000, {
      description:
        'Clients ping this often (the client default), and the node pings deepstream.io-client-js 2.x clients (text protocol) this often; a connection silent for twice as long is closed.',
    }),
    MAX_MESSAGE_BYTES: positiveInt(1_048_576, {
      description:
        'Largest realtime message an app accepts unless its own limit says otherwise; larger ones get MAXIMUM_MESSAGE_SIZE_EXCEEDED.',
    }),
    CONNECTION_MAX_BUFFERED_BYTES: positiveInt(4_194_304, {
      description:
        'Outbound bytes a realtime connection may have waiting to be sent (its client reads slower than it is sent to); over it for CONNECTION_SLOW_CONSUMER_GRACE_MS, or over twice it at any time, the connection is closed with code 4008 SLOW_CONSUMER, and its socket destroyed after CONNECTION_CLOSE_TIMEOUT_MS. Also the inbound bytes that may wait behind a pending message before the node stops reading the connection until they are handled.',
    }),
    CONNECTION_SLOW_CONSUMER_GRACE_MS: positiveInt(3_000, {
      description:
        "How long a realtime connection's outbound buffer may stay over CONNECTION_MAX_BUFFERED_BYTES (a burst its client is still reading) before the connection is closed as a slow consumer.",
    }),
    CONNECTION_CLOSE_TIMEOUT_MS: positiveInt(2_000, {
      description:
        'How long a realtime connection the node closes gets for the WebSocket close handshake before its socket is destroyed and its buffers freed.',
    }),
    PRE_LOGIN_MAX_MESSAGE_BYTES: positiveInt(16_384, {
      description:
        'Largest frame a realtime connection may send before it has logged in; a larger one gets MAXIMUM_MESSAGE_SIZE_EXCEEDED and close code 1009.',
    }),
    PRE_LOGIN_MAX_QUEUED_MESSAGES: positiveInt(8, {
      description:
        'Messages a realtime connection may send while its challenge or login is still being decided (PINGs aside); one more closes it with code 4009.',
    }),
    APP_MAX_UNAUTHENTICATED_CONNECTIONS: positiveInt(1_000, {
      description:
        'Connections of one app that have not logged in yet, per realtime node; one more is closed with code 4010. They count against APP_MAX_CONNECTIONS only once logged in.',
    }),
    MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: positiveInt(32, {
      description:
        'Connections from one client address (any app) that have not logged in yet, per realtime node; one more is closed with code 4010.',
    }),
    HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000, {
      description:
        "How long a client has on every listening port to send a request's headers (and, on a port that takes TLS and plaintext, its first byte) before the connection is dropped.",
    }),
    HTTP_REQUEST_TIMEOUT_MS: positiveInt(30_000, {
      description:
        'How long a client has on every listening port to send a whole request, headers and body, before it gets 408 and the connection is dropped. At least HTTP_HEADERS_TIMEOUT_MS.',
    }),
    RPC_ACK_TIMEOUT_MS: positiveInt(1_000, {
      description:
        'How long an RPC provider has to accept a request before the caller gets ACCEPT_TIMEOUT.',
    }),
    RPC_RESPONSE_TIMEOUT_MS: positiveInt(10_000, {
      description: 'How long an accepted RPC may take before the caller gets RESPONSE_TIMEOUT.',
    }),
    HTTP_API_MAX_COMMANDS: positiveInt(100, {
      description:
        "Most commands one request to a realtime node's HTTP data API (POST /APP_ID/api) may hold; a longer body is refused with 400 before any command runs.",
    }),
    HTTP_API_REQUEST_TIMEOUT_MS: positiveInt(20_000, {
      description:
        'How long one HTTP data API request may take in all; commands still unanswered then (an RPC nobody answers) get HTTP_REQUEST_TIMEOUT.',
    }),
    HTTP_API_TOKEN_TTL_MS: positiveInt(86_400_000, {
      description:
        'How long a token from POST /APP_ID/api/auth stays valid. Kept in Redis (every node accepts it) when REDIS_URL is set, else in the node itself.',
    }),
    HTTP_API_MAX_TOKENS: positiveInt(100_000, {
      description:
        'Most HTTP data API tokens a realtime node without Redis keeps; when full, the oldest is dropped first.',
    }),
    HTTP_API_MAX_REQUESTS_PER_ADDRESS: positiveInt(32, {
      description:
        'Most HTTP data API requests from one client address a realtime node works on at once (each may wait on a login, a webhook or an RPC); more are refused with 429 before their body is read.',
    }),
    HTTP_API_KEY_CACHE_MS: positiveInt(5_000, {
      description:
        'How long a realtime node keeps what it looked up about an app API key (found or not) for the HTTP data API; a key revoked or re-scoped in the dashboard keeps its old powers there for up to this long.',
    }),
    LISTEN_RESPONSE_TIMEOUT_MS: positiveInt(500, {
      description:
        'How long a listening provider has to accept or reject a subscription before the next one is asked.',
    }),
    LISTEN_SHUFFLE_PROVIDERS: Type.Boolean({
      default: true,
      expected: 'true or false',
      description:
        "Offer a subscription to the listening providers that match it in random order (deepstream's listen.shuffleProviders, on by default). false: in the order they started listening, across the cluster.",
    }),
    RECORD_WRITE_DURABILITY: oneOf(['commit', 'fsync'] as const, 'commit', {
      description:
        'When a record write the client asked to have acknowledged, or a delete, is answered. commit: once committed in Postgres, not waiting for the WAL flush (a node crash loses none of them, a Postgres crash the last ~0.6 s). fsync: once the commit is on disk. PGlite always commits as fsync does.',
    }),
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: oneOf(['auto', 'true', 'false'] as const, 'auto', {
      description:
        'Let auth webhooks call loopback, private, link-local and metadata addresses. auto: only under pnpm start with both servers on loopback. Keep it off for hosted use.',
    }),
    WEBHOOK_LOGIN_TIMEOUT_MS: positiveInt(30_000, {
      description:
        "Longest a webhook login may take in all, retries included; each attempt also has the app's own total timeout (connect, headers and body).",
    }),
    LOGIN_FAILURE_WINDOW_MS: positiveInt(900_000, {
      description:
        'Window of the email-login throttle: failed logins count for this long; over a limit, logins are refused without checking the password until it passes.',
    }),
    LOGIN_FAILURES_PER_EMAIL_AND_IP: positiveInt(5, {
      description: 'Failed email logins per app, email and client address in each window.',
    }),
    LOGIN_FAILURES_PER_IP: positiveInt(50, {
      description: 'Failed email logins per app and client address in each window, any email.',
    }),
    LOGIN_FAILURES_PER_EMAIL: positiveInt(200, {
      description:
        'Failed email logins per app and email in each window, from all addresses together: the ceiling against guessing from many addresses.',
    }),
    SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, {
      description:
        'How long a process waits for open work to finish on SIGINT/SIGTERM before it exits anyway.',
    }),
    DRAIN_READINESS_GRACE_MS: Type.Integer({
      minimum: 0,
      default: 0,
      expected: 'a whole number of at least 0',
      description:
        'On SIGTERM a realtime node first answers /ready with 503 for this long while it keeps serving, so load balancers that poll /ready stop sending it new connections before it closes its clients. 0: close at once.',
    }),
    REDIS_KEY_PREFIX: Type.Optional(
      Type.String({
        // It ends up in SCAN patterns (the app purge): no glob characters.
        pattern: '^[A-Za-z0-9:_.-]+$',
        expected: 'letters, digits and : _ . - only',
        description:
          'Prepended to every Redis key and channel (bus, jobs, app state), so several deployments can share one Redis. Letters, digits and : _ . - only. Unset: no prefix.',
      }),
    ),
    WORKER_HOST: text('127.0.0.1', {
      description: "Address the worker's health server (GET /health, GET /ready) listens on.",
    }),
    WORKER_PORT: port(3001, { description: "Port of the worker's health server." }),
    USAGE_REPORT_INTERVAL_MS: positiveInt(60_000, {
      description:
        "How often a realtime node hands its per-app usage counters to the worker, which adds them to the app's per-minute usage samples.",
    }),
    APP_MAX_CONNECTIONS: positiveInt(10_000, {
      description:
        'Connections an app may have open at once across all realtime nodes, unless its own limits say otherwise; one more is refused (CONNECTION REJECT, close code 4006).',
    }),
    APP_MAX_MESSAGES_PER_SECOND: positiveInt(10_000, {
      description:
        "Messages per second an app's clients may send in total across all realtime nodes, unless its own limits say otherwise; one more gets MESSAGE_DENIED and has no effect.",
    }),
    CONNECTION_MAX_MESSAGES_PER_SECOND: positiveInt(100, {
      description:
        "Messages per second one connection may send, unless its app's own limits say otherwise; one more gets MESSAGE_DENIED and has no effect.",
    }),
    APP_MAX_CROSS_REFERENCES_PER_SECOND: positiveInt(5_000, {
      description:
        "Records an app's permission rules may load per second across all realtime nodes, unless its own limits say otherwise; a rule that would load one more is denied.",
    }),
    MESSAGE_MAX_NAMES: positiveInt(10_000, {
      description:
        "Names one bulk message (SUBSCRIBE, PROVIDE, NOTIFY...) may carry, unless its app's own limits say otherwise; a longer one is refused whole, MESSAGE_DENIED per name. Keep it ≥ CONNECTION_MAX_SUBSCRIPTIONS: clients resend them all at once on reconnect.",
    }),
    CONNECTION_MAX_SUBSCRIPTIONS: positiveInt(10_000, {
      description:
        "Subscriptions one connection may hold per topic (events, records, presence), unless its app's own limits say otherwise; a SUBSCRIBE that would pass it is refused whole, MESSAGE_DENIED for each name.",
    }),
    CONNECTION_MAX_LISTENS: positiveInt(100, {
      description:
        "Listen patterns one connection may hold per topic (events, records), unless its app's own limits say otherwise; one more LISTEN gets MESSAGE_DENIED with the pattern.",
    }),
    CONNECTION_MAX_PROVIDES: positiveInt(100, {
      description:
        "RPC names one connection may provide, unless its app's own limits say otherwise; a PROVIDE that would pass it is refused whole, MESSAGE_DENIED for each name.",
    }),
    CONNECTION_MAX_PENDING_RPCS: positiveInt(100, {
      description:
        "RPCs one connection may have waiting for their answer, unless its app's own limits say otherwise; one more REQUEST gets MESSAGE_DENIED with its name and correlation id.",
    }),
    NODE_HEARTBEAT_INTERVAL_MS: positiveInt(1_000, {
      description:
        'How often a realtime node renews its entry in the cluster node registry (in Redis) and looks for nodes whose entry expired.',
    }),
    NODE_DEAD_AFTER_MS: positiveInt(5_000, {
      description:
        'A realtime node whose registry entry is older than this is dead: a surviving node removes its subscriptions, providers, listeners and presence. Must exceed NODE_HEARTBEAT_INTERVAL_MS.',
    }),
    APP_FRESHNESS_CHECK_INTERVAL_MS: positiveInt(5_000, {
      description:
        "How often a realtime node compares the config version of each app it holds with the database's and reloads the changed ones (the longest a lost change announcement leaves old auth, rules or limits in force); it also re-reads all on a Redis reconnect. Not done by pnpm start on its embedded database without REDIS_URL, where announcements are in-process and cannot be lost.",
    }),
  },
  { additionalProperties: true },
);

// Read only by the test suite (never by a server): where the integration
// tests find the Postgres and Redis they create their own databases and
// key prefixes on.
export const testConfigSchema = Type.Object(
  {
    TEST_DATABASE_URL: Type.String({
      pattern: '^(postgres|postgresql)://[^\\s]+$',
      default: 'postgresql://postgres@127.0.0.1:5432/postgres',
      expected: 'a URL starting with postgres:// or postgresql://',
      description:
        'Postgres server for integration tests; each test creates and drops its own database there.',
    }),
    TEST_REDIS_URL: Type.String({
      pattern: '^(redis|rediss)://[^\\s]+$',
      default: 'redis://127.0.0.1:6379',
      expected: 'a URL starting with redis:// or rediss://',
      description: 'Redis server for integration tests; each test uses its own key prefix.',
    }),
  },
  { additionalProperties: true },
);

export type Config = Readonly<Static<typeof configSchema>>;
export type TestConfig = Readonly<Static<typeof testConfigSchema>>;

export function schemaKeys(schema: TSchema & { properties: Record<string, TSchema> }): string[] {
  return Object.keys(schema.properties);
}
