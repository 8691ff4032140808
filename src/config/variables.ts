import {
  DEFAULT_FLEET_INDEX_FILE,
  DEFAULT_FLEET_SYNC_INTERVAL,
  DEFAULT_JOB_STORE_FILE,
  DEFAULT_KDMS_TOKEN_URL,
} from './config.js';

/**
 * Every environment variable Fleetgraph reads, in one table: loadConfig (config.ts) reads only names
 * of this table (its helpers take a `VariableName`), `npm run config:docs` writes README.md's
 * configuration reference and `.env.example` from it, and test/unit/config-reference.test.ts fails
 * when a variable read anywhere in src/ is missing here, or listed here and read nowhere.
 */

/** The README's sub-headings and `.env.example`'s sections, in order. */
export const VARIABLE_GROUPS = {
  server: { title: 'Server', envTitle: 'server' },
  upstreams: {
    title: 'Upstreams',
    intro:
      'All three of `KDMS_URL`, `KNOX_MANAGE_URL` and `BOX_URL`, or none (embedded mode); each client setting is required with its URL.',
    envTitle: 'upstreams (all three, or none)',
  },
  auth: {
    title: 'Caller authentication',
    intro:
      'One of `AUTH_JWT_SECRET` and `AUTH_JWKS_URL`: production refuses to start without, and with either set auth is on in every mode. The rest apply only when one is set.',
    envTitle: 'callers (one of the two; production refuses to start without)',
  },
  stores: {
    title: 'Caching and shared state',
    intro:
      'One replica keeps its state in this process (upload jobs in `JOB_STORE_FILE`); several share everything through the Redis at `CACHE_URL`.',
    envTitle: 'shared state: one replica keeps jobs in a file; several share everything through Redis',
  },
  jobs: { title: 'Upload jobs', envTitle: 'upload jobs' },
  fleetIndex: {
    title: 'Fleet index',
    intro:
      'The local copy of the fleet that listings, filters and counts read ([docs/architecture.md](docs/architecture.md)).',
    envTitle: 'fleet index (docs/architecture.md)',
  },
  resilience: { title: 'Upstream resilience', envTitle: 'upstream resilience' },
  limits: {
    title: 'GraphQL surface and query limits',
    intro: 'Limits are checked on the parsed document before it is validated or executed.',
    envTitle: 'GraphQL surface',
  },
  observability: { title: 'Observability', envTitle: 'observability' },
  embedded: {
    title: 'Embedded mode and emulators',
    intro:
      'The emulators `npm start` runs in-process when no upstream URL is set, and `npm run emulators` (whose command-line flags win over these).',
    envTitle: 'embedded mode and `npm run emulators` (development only)',
  },
} as const satisfies Record<string, { title: string; intro?: string; envTitle: string }>;

export type VariableGroup = keyof typeof VARIABLE_GROUPS;

export interface Variable {
  readonly group: VariableGroup;
  /** The value used when the variable is unset, exactly as the code has it; absent when there is none. */
  readonly default?: string;
  /** Markdown: how the default changes by mode or is computed (shown after `default`, or instead of it). */
  readonly defaultNote?: string;
  /** Markdown: what the variable does. */
  readonly meaning: string;
  /** `.env.example`: the value shown, when not the default (an example, or the production value). */
  readonly example?: string;
  /** `.env.example`: an active line (a setting real upstreams need) rather than a commented one. */
  readonly exampleSet?: boolean;
  /** `.env.example`: a comment line above the variable. */
  readonly exampleNote?: string;
}

export const VARIABLES = {
  // --- server ---
  NODE_ENV: {
    group: 'server',
    default: 'development',
    meaning:
      '`development`, `production` or `test`; `production` refuses to start without real upstreams and caller authentication, and turns off introspection, the explorer and stack traces',
    example: 'production',
    exampleSet: true,
  },
  PORT: {
    group: 'server',
    default: '4000',
    meaning:
      'HTTP port of the graph: GraphQL, subscriptions, webhooks and, without `ADMIN_PORT`, `/metrics`, `/readyz` and `/healthz`; 0 picks a free port',
    exampleSet: true,
  },
  HOST: { group: 'server', default: '0.0.0.0', meaning: 'interface to listen on', exampleSet: true },
  ADMIN_PORT: {
    group: 'server',
    defaultNote: '— (all on `PORT`)',
    meaning:
      '`/metrics`, `/readyz` and `/healthz` on this port; the main port then serves GraphQL and webhooks only',
    example: '9464',
  },

  CORS_ORIGINS: {
    group: 'server',
    defaultNote: 'development: loopback origins; production: none',
    meaning:
      'comma-separated exact origins whose browser pages may call `/graphql` (CORS), e.g. `https://app.example.com`; `none` = no other origin. Unset in development: any `http(s)://localhost`, `127.0.0.1` or `[::1]` port. CSRF prevention still refuses requests a browser sends without a preflight',
    example: 'https://app.example.com,https://admin.example.com',
  },
  CORS_CREDENTIALS: {
    group: 'server',
    default: 'false',
    meaning:
      '`true` lets the pages of `CORS_ORIGINS` send cookies and HTTP authentication (`Access-Control-Allow-Credentials`); a bearer token in `Authorization` needs no credentials',
  },

  HEAP_GROWTH_PERCENT: {
    group: 'server',
    default: '50',
    meaning:
      "how far V8 lets the heap grow past what survived its last full collection before collecting again (0 to 300; 0 = V8's own rule, up to 300%): lower keeps peak memory down at some CPU cost ([bench/README.md](bench/README.md#memory))",
  },

  // --- upstreams ---
  KDMS_URL: {
    group: 'upstreams',
    meaning: 'KDMS API base including the service prefix, e.g. `https://api.samsungknox.com/kdms/v1`',
    example: 'https://api.samsungknox.com/kdms/v1',
    exampleSet: true,
  },
  KDMS_TOKEN_URL: {
    group: 'upstreams',
    default: DEFAULT_KDMS_TOKEN_URL,
    meaning: 'Knox OAuth 2.0 token endpoint',
    exampleSet: true,
  },
  KDMS_CLIENT_ID: {
    group: 'upstreams',
    meaning: 'Knox OAuth client id (required with `KDMS_URL`)',
    exampleSet: true,
  },
  KDMS_CLIENT_SECRET: {
    group: 'upstreams',
    meaning: 'Knox OAuth client secret (required with `KDMS_URL`)',
    exampleSet: true,
  },
  KDMS_SCOPE: { group: 'upstreams', default: 'kdms.devices', meaning: 'scopes to request', exampleSet: true },
  KWN_URL: {
    group: 'upstreams',
    defaultNote: 'the origin of `KDMS_URL`',
    meaning: 'Knox Webhook Notification host, where callback subscriptions are made',
    example: 'https://api.samsungknox.com',
  },
  KNOX_CERTIFICATE_URL: {
    group: 'upstreams',
    defaultNote: 'the origin of `KDMS_URL` + `/downloadCertificate`',
    meaning: 'the Knox validation certificate that signs callbacks',
    example: 'https://api.samsungknox.com/downloadCertificate',
  },
  KNOX_MANAGE_URL: {
    group: 'upstreams',
    meaning: 'Knox Manage tenant host root, e.g. `https://eu02.manage.samsungknox.com`',
    example: 'https://eu02.manage.samsungknox.com',
    exampleSet: true,
  },
  KNOX_MANAGE_CLIENT_ID: {
    group: 'upstreams',
    meaning: 'Knox Manage API client, `<clientId>@<tenant domain>` (required with `KNOX_MANAGE_URL`)',
    exampleSet: true,
  },
  KNOX_MANAGE_CLIENT_SECRET: {
    group: 'upstreams',
    meaning: 'Knox Manage API client secret (required with `KNOX_MANAGE_URL`)',
    exampleSet: true,
  },
  BOX_URL: {
    group: 'upstreams',
    meaning: 'RHMAP domain host root, e.g. `https://acme.feedhenry.com`',
    example: 'https://acme.feedhenry.com',
    exampleSet: true,
  },
  BOX_API_KEY: {
    group: 'upstreams',
    meaning: 'user API key, sent as `X-FH-AUTH-USER` (required with `BOX_URL`)',
    exampleSet: true,
  },

  // --- caller authentication ---
  AUTH_JWT_SECRET: {
    group: 'auth',
    meaning:
      "HS256 shared secret that verifies callers' JWTs, at least 32 characters; also what `npm run token` signs with",
    exampleSet: true,
  },
  AUTH_JWKS_URL: {
    group: 'auth',
    meaning:
      'a JWKS for asymmetric keys (RS256, ES256, …) instead of `AUTH_JWT_SECRET`; production requires `https://`',
    example: 'https://login.example.com/.well-known/jwks.json',
  },
  AUTH_JWT_ISSUER: {
    group: 'auth',
    meaning:
      "the `iss` callers' tokens must carry; unset: not checked (required with `AUTH_JWKS_URL` in production)",
    exampleNote: 'with AUTH_JWKS_URL, production requires https:// and both of these:',
  },
  AUTH_JWT_AUDIENCE: {
    group: 'auth',
    meaning:
      "the `aud` naming Fleetgraph that callers' tokens must carry; unset: not checked (required with `AUTH_JWKS_URL` in production)",
  },
  AUTH_CLOCK_SKEW_SECONDS: {
    group: 'auth',
    default: '60',
    meaning: "clock difference tolerated for a caller token's `exp`, `nbf` and `iat`",
  },
  AUTH_JWKS_REFRESH_MS: {
    group: 'auth',
    default: '60000',
    meaning:
      'JWKS keys older than this are refetched in the background; bounds how long a removed key still works',
  },
  AUTH_JWKS_TIMEOUT_MS: {
    group: 'auth',
    default: '3000',
    meaning: 'one JWKS fetch gives up after this long',
  },
  AUTH_JWKS_COOLDOWN_MS: {
    group: 'auth',
    default: '5000',
    meaning: 'at most one JWKS fetch per this long on failures and unknown `kid`s',
  },
  AUTH_JWKS_MAX_STALE_MS: {
    group: 'auth',
    default: '3600000',
    meaning:
      'while the JWKS is down, known keys work until this old; then 503 `AUTH_UNAVAILABLE`; at least `AUTH_JWKS_REFRESH_MS`',
  },
  AUTH_JWKS_ALLOW_HTTP: {
    group: 'auth',
    default: 'false',
    meaning: '`true` lets production fetch `AUTH_JWKS_URL` over plain `http://` (test setups only)',
    exampleNote: 'true: an http:// JWKS in production, for test setups only',
  },

  // --- caching and shared state ---
  CACHE_URL: {
    group: 'stores',
    meaning:
      '`redis://[:password@]host:port[/db]` (or `rediss://`): tokens, read cache, jobs and job events shared by replicas',
    example: 'redis://:password@redis.internal:6379/0',
  },
  CACHE_CONNECT_TIMEOUT_MS: {
    group: 'stores',
    default: '5000',
    meaning: 'how long the first connection to `CACHE_URL` may take before start-up fails',
  },
  READ_CACHE_TTL_MS: {
    group: 'stores',
    default: '10000',
    meaning:
      'how long single-device reads (and, without the fleet index, whole-list reads) are cached; 0 = off',
  },

  // --- upload jobs ---
  WEBHOOK_PUBLIC_URL: {
    group: 'jobs',
    defaultNote: '— (embedded: this server)',
    meaning:
      'the public URL at which KDMS reaches `POST /webhooks/knox` (required with real upstreams; with replicas, the load balancer)',
    example: 'https://fleetgraph.example.com/webhooks/knox',
    exampleSet: true,
  },
  JOB_STORE_FILE: {
    group: 'jobs',
    default: DEFAULT_JOB_STORE_FILE,
    meaning:
      'SQLite file upload jobs persist in without `CACHE_URL` (back it up with its `-wal` file); `memory` keeps them in memory; not with `CACHE_URL`',
    example: '/var/lib/fleetgraph/jobs.sqlite',
    exampleSet: true,
    exampleNote:
      'Without CACHE_URL only (with it, jobs live in Redis): a SQLite file (back it up with its -wal file).',
  },
  WEBHOOK_TIMEOUT_MS: {
    group: 'jobs',
    default: '900000',
    defaultNote: 'embedded: 5 × `KDMS_ASYNC_DELAY_MS`, at least `10000`',
    meaning: 'a job with no callback after this long is settled by reading KDMS `getDevices`',
  },
  JOB_POLL_INTERVAL_MS: {
    group: 'jobs',
    default: '60000',
    defaultNote: 'embedded: `2000`',
    meaning: 'how often overdue and `UNCONFIRMED` jobs are looked at',
  },

  // --- fleet index ---
  FLEET_INDEX: {
    group: 'fleetIndex',
    default: 'on',
    meaning:
      '`off` = no fleet index: every request reads the APIs (no `totalCount`, `fleetSummary`, new filters or `orderBy`)',
  },
  FLEET_INDEX_FILE: {
    group: 'fleetIndex',
    default: DEFAULT_FLEET_INDEX_FILE,
    defaultNote: 'embedded: `memory`',
    meaning: 'the SQLite file of the embedded fleet index; `memory` = a temporary file removed at exit',
    example: '/var/lib/fleetgraph/fleet-index.sqlite',
  },
  FLEET_INDEX_DATABASE_URL: {
    group: 'fleetIndex',
    meaning:
      '`postgres://user[:password]@host:port/db`: the fleet index replicas share (one syncs, all read), instead of SQLite',
    example: 'postgres://fleetgraph:change-me@db.internal:5432/fleetgraph',
    exampleNote: 'Replicas: one PostgreSQL they share (one replica syncs, every replica reads).',
  },
  FLEET_SYNC_INTERVAL: {
    group: 'fleetIndex',
    default: DEFAULT_FLEET_SYNC_INTERVAL,
    meaning: "how often the fleet index's full sync runs (`900s`, `15m`, `1h`; 1 s to 7 days)",
  },

  // --- upstream resilience ---
  UPSTREAM_TIMEOUT_MS: {
    group: 'resilience',
    default: '10000',
    meaning: "per upstream request, unless that upstream's own timeout below is set",
  },
  KDMS_TIMEOUT_MS: {
    group: 'resilience',
    defaultNote: '`UPSTREAM_TIMEOUT_MS`',
    meaning: 'per KDMS request',
  },
  KNOX_MANAGE_TIMEOUT_MS: {
    group: 'resilience',
    defaultNote: '`UPSTREAM_TIMEOUT_MS`',
    meaning: 'per Knox Manage request',
  },
  BOX_TIMEOUT_MS: { group: 'resilience', defaultNote: '`UPSTREAM_TIMEOUT_MS`', meaning: 'per Box request' },
  UPSTREAM_DEADLINE_MS: {
    group: 'resilience',
    default: '20000',
    meaning:
      "one upstream call: the wait for a slot, its retries and waits; keep it below your router's timeout (30 s)",
  },
  UPSTREAM_RETRIES: {
    group: 'resilience',
    default: '2',
    meaning:
      'retries of a read on network errors, 5xx and 429, with exponential backoff and jitter (writes are never retried)',
  },
  UPSTREAM_MAX_CONCURRENCY: {
    group: 'resilience',
    default: '32',
    meaning: 'calls in flight per upstream (halved on each 429, then grown back)',
  },
  UPSTREAM_MAX_CONCURRENCY_PER_ENDPOINT: {
    group: 'resilience',
    default: '0',
    defaultNote: 'half of `UPSTREAM_MAX_CONCURRENCY`',
    meaning: 'calls in flight per endpoint, so one slow endpoint cannot take its whole API',
  },
  KNOX_MANAGE_REQUESTS_PER_MINUTE: {
    group: 'resilience',
    default: '1800',
    meaning: "Knox Manage's documented per-client quota, per process: divide by the number of replicas",
  },
  KDMS_REQUESTS_PER_MINUTE: {
    group: 'resilience',
    default: '0',
    meaning: 'request budget for KDMS, per process; 0 = none',
  },
  BOX_REQUESTS_PER_MINUTE: {
    group: 'resilience',
    default: '0',
    meaning: 'request budget for Box, per process; 0 = none',
  },
  UPSTREAM_CALLER_SHARE_PERCENT: {
    group: 'resilience',
    default: '50',
    meaning:
      'the most of a budget one caller (JWT subject) may spend in any minute; over it, that caller gets `RATE_LIMITED`',
  },
  UPSTREAM_BACKGROUND_SHARE_PERCENT: {
    group: 'resilience',
    default: '25',
    meaning: 'the most of a budget background work (job polling) may spend',
  },
  BREAKER_ERROR_PERCENT: {
    group: 'resilience',
    default: '50',
    meaning: "an upstream's circuit breaker opens when this share of its recent calls fail",
  },
  BREAKER_VOLUME: {
    group: 'resilience',
    default: '10',
    meaning: 'calls a breaker must see in its window before it may open',
  },
  BREAKER_RESET_MS: {
    group: 'resilience',
    default: '10000',
    meaning: 'how long an open breaker fails fast before one probe call goes through',
  },

  // --- GraphQL surface and query limits ---
  GRAPHQL_INTROSPECTION: {
    group: 'limits',
    default: 'true',
    defaultNote: 'production: `false`',
    meaning: 'schema introspection (and "Did you mean" suggestions)',
    example: 'false',
  },
  EXPLORER: {
    group: 'limits',
    default: 'auto',
    defaultNote: 'production: `off`',
    meaning:
      "what a browser gets at the graph URL: `auto` = Apollo Sandbox from Apollo's CDN, switching by itself to the GraphiQL bundled in Fleetgraph's build where the CDN cannot be reached; `sandbox` or `graphiql` = only that one; `off` = none ([docs/explorer.md](docs/explorer.md))",
    example: 'off',
  },
  PERSISTED_DOCUMENTS: {
    group: 'limits',
    default: 'off',
    defaultNote: 'production: `allow`',
    meaning:
      "trusted documents from the manifest codegen writes for `@fleetgraph/client`: `off` = any document; `allow` = any document, and a known hash alone runs its document; `require` = only documents in the manifest (others get `PERSISTED_QUERY_NOT_IN_LIST`), except a federation router's requests: with `ROUTER_SECRET` set, those carrying it; without, `_entities`/`_service`-only queries from an authenticated caller",
    example: 'require',
  },
  PERSISTED_DOCUMENTS_FILE: {
    group: 'limits',
    defaultNote:
      "the manifest in the build (`dist/persisted-documents.json`, or the client package's in a checkout)",
    meaning:
      'the trusted-documents manifest (`{ "<sha256>": "<document>" }`) that `PERSISTED_DOCUMENTS` reads',
  },
  ROUTER_SECRET: {
    group: 'limits',
    meaning:
      'a secret shared with the federation router, which sends it as the `Router-Authorization` header (and as `router-authorization` in graphql-ws connection params); at least 32 characters. With `PERSISTED_DOCUMENTS=require` a request carrying it skips the manifest, because the router enforces its own trusted documents and writes query plans no manifest can list, and no other caller may send router-only `_entities`/`_service` queries',
  },
  GRAPHQL_SANDBOX: {
    group: 'limits',
    defaultNote: '— (`EXPLORER` decides)',
    meaning:
      'the former name of `EXPLORER`, still read: `true` = `auto`, `false` = `off`; not with `EXPLORER`',
    exampleNote: 'the former name of EXPLORER (true = auto, false = off); set one of the two',
  },
  MAX_QUERY_DEPTH: { group: 'limits', default: '15', meaning: 'deepest nesting of selections' },
  MAX_ALIASES: { group: 'limits', default: '15', meaning: 'aliases in one document' },
  MAX_TOKENS: { group: 'limits', default: '2000', meaning: 'lexical tokens in one document' },
  MAX_DIRECTIVES: { group: 'limits', default: '5', meaning: 'directives in one document' },
  MAX_FIELD_REPEATS: {
    group: 'limits',
    default: '3',
    meaning: 'times one response key may repeat in one selection set',
  },
  MAX_QUERY_COST: {
    group: 'limits',
    default: '25000',
    meaning:
      'estimated fields resolved, list fields weighted by `first` (and per-device Box reads by 10 more)',
  },
  MAX_REQUEST_BYTES: { group: 'limits', default: '1048576', meaning: 'largest request body' },
  FLEETGRAPH_BATCHING: {
    group: 'limits',
    default: 'on',
    meaning: '`off` = naive resolvers (benchmark baseline only)',
  },

  // --- observability ---
  LOG_LEVEL: {
    group: 'observability',
    default: 'info',
    meaning:
      '`fatal`, `error`, `warn`, `info`, `debug` (adds each upstream call), `trace` or `silent`; logs are JSON lines',
    exampleSet: true,
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    group: 'observability',
    meaning: 'OTLP/HTTP endpoint for OpenTelemetry traces; unset = tracing off',
    example: 'http://otel-collector.internal:4318',
  },
  OTEL_SERVICE_NAME: {
    group: 'observability',
    default: 'fleetgraph',
    meaning: 'the `service.name` of the traces exported',
  },
  READINESS_PROBE_MS: {
    group: 'observability',
    default: '5000',
    meaning: "how old `/readyz`'s last upstream probe may be before a new one starts in the background",
  },

  // --- embedded mode and emulators ---
  FLEET_SIZE: { group: 'embedded', default: '1000', meaning: "devices in the emulators' seeded fleet" },
  FLEET_SEED: {
    group: 'embedded',
    default: 'fleetgraph',
    meaning: 'seed of the fleet: the same seed makes the same devices and users',
  },
  KDMS_ASYNC_DELAY_MS: {
    group: 'embedded',
    default: '2000',
    meaning: "how long the KDMS emulator's uploads and deletes take to settle before its webhook",
  },
  EMULATOR_HOST: {
    group: 'embedded',
    default: '127.0.0.1',
    meaning: '`npm run emulators`: the interface the emulators listen on',
  },
  EMULATOR_ALLOWED_HOSTS: {
    group: 'embedded',
    meaning:
      '`npm run emulators`: comma-separated host names the emulators answer besides IP addresses, `localhost` and `EMULATOR_HOST` (DNS-rebinding guard)',
    example: 'emulators',
  },
  KDMS_EMULATOR_PORT: {
    group: 'embedded',
    default: '4101',
    meaning: "`npm run emulators`: the KDMS emulator's port; 0 picks a free port",
  },
  KNOX_MANAGE_EMULATOR_PORT: {
    group: 'embedded',
    default: '4102',
    meaning: "`npm run emulators`: the Knox Manage emulator's port; 0 picks a free port",
  },
  BOX_EMULATOR_PORT: {
    group: 'embedded',
    default: '4103',
    meaning: "`npm run emulators`: the Box emulator's port; 0 picks a free port",
  },
} as const satisfies Record<string, Variable>;

/** A variable Fleetgraph reads: the only names config.ts's helpers accept. */
export type VariableName = keyof typeof VARIABLES;

/** The table in order, each entry with its name. */
export const VARIABLE_LIST: ReadonlyArray<Variable & { readonly name: VariableName }> = (
  Object.keys(VARIABLES) as VariableName[]
).map((name) => ({ name, ...(VARIABLES[name] as Variable) }));
