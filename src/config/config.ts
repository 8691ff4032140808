import type { VariableName } from './variables.js';

/**
 * Configuration from environment variables (names fixed by DESIGN §9), validated at start with one
 * clear message per bad value. With no upstream URL set, Fleetgraph runs in embedded mode: it starts
 * the three emulators in-process and uses their development credentials.
 *
 * Every variable is read through a helper that takes a `VariableName`: a variable must be in
 * variables.ts (the table README.md's configuration reference and `.env.example` are written from)
 * before it can be read.
 */
export interface KdmsConfig {
  /** API base including the service prefix, e.g. https://api.samsungknox.com/kdms/v1. */
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Scopes Fleetgraph asks for. */
  scope: string;
  /** Knox Webhook Notification host (subscriptions); default: the origin of `url`. */
  kwnUrl: string;
  /** The Knox validation certificate that signs callbacks; default: `<origin of url>/downloadCertificate`. */
  certificateUrl: string;
}

export interface KnoxManageConfig {
  /** Tenant host root, e.g. https://eu02.manage.samsungknox.com. */
  url: string;
  clientId: string;
  clientSecret: string;
}

export interface BoxConfig {
  /** Domain host root, e.g. https://acme.feedhenry.com. */
  url: string;
  apiKey: string;
}

export interface UpstreamsConfig {
  kdms: KdmsConfig;
  knoxManage: KnoxManageConfig;
  box: BoxConfig;
}

export interface AuthConfig {
  /** HS256 shared secret (at least 32 characters). */
  jwtSecret: string | null;
  /** A JWKS URL for asymmetric keys (RS256, ES256, …). */
  jwksUrl: string | null;
  issuer: string | null;
  audience: string | null;
  /** Clock difference tolerated for `exp`, `nbf` and `iat`, in seconds. */
  clockSkewSeconds: number;
  /** How the JWKS's keys are cached (used with jwksUrl only). */
  jwks: JwksSettings;
}

export interface JwksSettings {
  /** Keys older than this are refetched in the background: a key removed from the JWKS stops working within about this long. */
  refreshMs: number;
  /** One JWKS fetch gives up after this long. */
  timeoutMs: number;
  /** At most one fetch per this long on failures and unknown `kid`s: no caller can make us fetch per request. */
  cooldownMs: number;
  /** While the JWKS is down, known keys are used until they are this old; then callers get 503 AUTH_UNAVAILABLE. */
  maxStaleMs: number;
}

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  /** Times one response key may repeat in one selection set (graphql-cop's field duplication). */
  maxFieldRepeats: number;
  /** Estimated fields resolved, with list fields multiplied by `first`. */
  maxCost: number;
  maxRequestBytes: number;
}

export interface ResilienceConfig {
  timeoutMs: { kdms: number; knoxManage: number; box: number };
  /** One upstream call, retries and waits included, ends within this. */
  deadlineMs: number;
  /** Requests per minute this process may send per upstream; 0 = no budget. */
  requestsPerMinute: { kdms: number; knoxManage: number; box: number };
  /** The most of a budget one caller (JWT subject) may spend in any minute, 0..1. */
  callerShare: number;
  /** The most of a budget background work (job polling) may spend, 0..1. */
  backgroundShare: number;
  /** Calls in flight per endpoint; 0 = half of maxConcurrency. */
  maxConcurrencyPerEndpoint: number;
  retries: number;
  maxConcurrency: number;
  breakerErrorPercent: number;
  breakerVolume: number;
  breakerResetMs: number;
}

export interface FleetgraphConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** `/metrics`, `/readyz` and `/healthz` on this port instead of `port` (which then serves GraphQL and webhooks only); null = on `port`. */
  adminPort: number | null;
  /** OpenTelemetry traces: exported over OTLP/HTTP when `otlpEndpoint` is set; off (no SDK started) otherwise. */
  tracing: { otlpEndpoint: string | null; serviceName: string };
  /** Null: embedded mode (emulators in-process). */
  upstreams: UpstreamsConfig | null;
  /** How long whole-list upstream reads are cached; 0 turns the read cache off. */
  readCacheTtlMs: number;
  resilience: ResilienceConfig;
  /** Caller authentication; null = open (embedded development default only). */
  auth: AuthConfig | null;
  introspection: boolean;
  /**
   * What a browser gets at the GraphQL URL (src/server/explorer/): `auto` = Apollo Sandbox from Apollo's CDN,
   * falling back by itself to the GraphiQL bundled in Fleetgraph's build; `sandbox` or `graphiql` = that one
   * only; `off` = no page.
   */
  explorer: ExplorerMode;
  /**
   * Trusted documents (src/server/persisted-documents.ts): `off`, `allow` (a known hash alone runs its
   * document), `require` (only the manifest's documents run); `file` null = the manifest shipped with the build.
   */
  persistedDocuments: {
    mode: PersistedDocumentsMode;
    file: string | null;
    /** ROUTER_SECRET: what a federation router sends as `Router-Authorization`; null = no router credential. */
    routerSecret: string | null;
  };
  /** Which browser pages of other origins may call /graphql (src/server/cors.ts). */
  cors: CorsConfig;
  limits: QueryLimits;
  logLevel: string;
  /** How old the last upstream probe may be before /readyz starts another (in the background). */
  readinessProbeMs: number;
  /** V8's heap growth after a full collection (`--heap-growing-percent`); 0 leaves V8's own (up to 300%). */
  heapGrowthPercent: number;
  /** Off only for the benchmark's naive baseline. */
  batching: boolean;
  embedded: { fleetSize: number; fleetSeed: string; kdmsAsyncDelayMs: number };
  /**
   * `CACHE_URL`: the Redis that replicas share (tokens, read cache, jobs, job events); null keeps
   * everything in this process (jobs in `jobs.storeFile`).
   */
  cache: { url: string | null; connectTimeoutMs: number };
  /** The fleet index (src/fleet-index): null = off, every request reads the upstreams (`FLEET_INDEX=off`). */
  fleetIndex: {
    /** SQLite file (embedded engine); `memory` = a temporary file removed at exit (the embedded-mode default). */
    file: string;
    /** PostgreSQL URL of the engine replicas share; null = embedded SQLite. */
    databaseUrl: string | null;
    /** How often a full sync runs. */
    syncIntervalMs: number;
  } | null;
  jobs: {
    /**
     * The SQLite file upload jobs persist in, so restarts and crashes keep them; null
     * (`JOB_STORE_FILE=memory`) keeps them in memory.
     */
    storeFile: string | null;
    /** The URL KDMS calls back (Knox Webhook Notification); embedded mode defaults to this server. */
    webhookPublicUrl: string | null;
    /** A job with no callback after this long is settled by polling KDMS. */
    webhookTimeoutMs: number;
    pollIntervalMs: number;
  };
}

export const PERSISTED_DOCUMENTS_MODES = ['off', 'allow', 'require'] as const;
export type PersistedDocumentsMode = (typeof PERSISTED_DOCUMENTS_MODES)[number];

export const EXPLORER_MODES = ['auto', 'sandbox', 'graphiql', 'off'] as const;
export type ExplorerMode = (typeof EXPLORER_MODES)[number];

export interface CorsConfig {
  /** Exact origins (`https://app.example.com`) allowed to call the graph from a browser. */
  origins: string[];
  /** Also any loopback origin (`http://localhost:5173`, `http://127.0.0.1:3000`): development without CORS_ORIGINS. */
  loopback: boolean;
  /** Answer allowed origins with `Access-Control-Allow-Credentials: true` (cookies, HTTP auth). */
  credentials: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Fleetgraph cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_KDMS_TOKEN_URL = 'https://api.samsungknox.com/ams/v1/oauth2/token';
/** Upload jobs without CACHE_URL: a SQLite database (with a `-wal` file beside it). */
export const DEFAULT_JOB_STORE_FILE = '.fleetgraph/jobs.sqlite';
export const DEFAULT_FLEET_INDEX_FILE = '.fleetgraph/fleet-index.sqlite';
export const DEFAULT_FLEET_SYNC_INTERVAL = '15m';

/** `900`, `900s`, `15m`, `1h`, `1d`, `500ms` → milliseconds (a bare number is seconds); null when unreadable. */
export function parseDuration(value: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Math.round(Number(match[1]) * unit);
}

type Env = Record<string, string | undefined>;

/** CORS_ORIGINS: comma-separated exact origins, or `none`; each as a browser sends it in `Origin`. */
function corsOrigins(value: string | undefined, problems: string[]): string[] {
  if (value === undefined || value === 'none') return [];
  const origins: string[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (!entry) continue;
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      // An origin is scheme://host[:port]; a trailing slash is forgiven, a path is not.
      if (/^https?:$/.test(url.protocol) && url.origin === entry.replace(/\/$/, '')) origin = url.origin;
    } catch {
      // reported below
    }
    if (origin) origins.push(origin);
    else
      problems.push(
        entry === '*'
          ? 'CORS_ORIGINS takes exact origins (https://app.example.com), not "*"'
          : `CORS_ORIGINS must list origins such as https://app.example.com (scheme, host and port only), got "${entry}"`,
      );
  }
  return origins;
}

export function loadConfig(env: Env = process.env): FleetgraphConfig {
  const problems: string[] = [];
  const text = (name: VariableName): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const int = (name: VariableName, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const url = (name: VariableName): string | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http(s)');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL, got "${raw}"`);
      return undefined;
    }
  };
  const required = (name: VariableName, why: string): string => {
    const value = text(name);
    if (!value) problems.push(`${name} is required ${why}`);
    return value ?? '';
  };

  const nodeEnvRaw = text('NODE_ENV') ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnvRaw))
    problems.push(`NODE_ENV must be development, production or test, got "${nodeEnvRaw}"`);
  const nodeEnv = (
    ['development', 'production', 'test'].includes(nodeEnvRaw) ? nodeEnvRaw : 'development'
  ) as FleetgraphConfig['nodeEnv'];

  const urls = { kdms: url('KDMS_URL'), knoxManage: url('KNOX_MANAGE_URL'), box: url('BOX_URL') };
  const upstreamUrls = ['KDMS_URL', 'KNOX_MANAGE_URL', 'BOX_URL'] as const;
  const anySet = upstreamUrls.some((n) => text(n) !== undefined);
  let upstreams: UpstreamsConfig | null = null;
  if (anySet) {
    for (const name of upstreamUrls) {
      if (text(name) === undefined)
        problems.push(
          `${name} is required when any upstream URL is set (set all three, or none for the embedded emulators)`,
        );
    }
    const kdmsOrigin = urls.kdms ? new URL(urls.kdms).origin : '';
    upstreams = {
      kdms: {
        url: urls.kdms ?? '',
        kwnUrl: url('KWN_URL') ?? kdmsOrigin,
        certificateUrl: url('KNOX_CERTIFICATE_URL') ?? `${kdmsOrigin}/downloadCertificate`,
        tokenUrl: url('KDMS_TOKEN_URL') ?? DEFAULT_KDMS_TOKEN_URL,
        clientId: required('KDMS_CLIENT_ID', 'with KDMS_URL'),
        clientSecret: required('KDMS_CLIENT_SECRET', 'with KDMS_URL'),
        scope: text('KDMS_SCOPE') ?? 'kdms.devices',
      },
      knoxManage: {
        url: urls.knoxManage ?? '',
        clientId: required('KNOX_MANAGE_CLIENT_ID', 'with KNOX_MANAGE_URL'),
        clientSecret: required('KNOX_MANAGE_CLIENT_SECRET', 'with KNOX_MANAGE_URL'),
      },
      box: { url: urls.box ?? '', apiKey: required('BOX_API_KEY', 'with BOX_URL') },
    };
  } else if (nodeEnv === 'production') {
    problems.push(
      'NODE_ENV=production needs real upstreams: set KDMS_URL, KNOX_MANAGE_URL and BOX_URL (the emulators are for development)',
    );
  }
  /** A URL with a password in it: its value is never echoed, only what it should look like. */
  const secretUrl = (name: VariableName, protocols: string[], shape: string): string | null => {
    const value = text(name) ?? null;
    if (value === null) return null;
    let protocol = '';
    try {
      protocol = new URL(value).protocol;
    } catch {
      // reported below
    }
    if (!protocols.includes(protocol)) problems.push(`${name} must be a ${shape}`);
    return value;
  };
  const cacheUrl = secretUrl(
    'CACHE_URL',
    ['redis:', 'rediss:'],
    'redis:// or rediss:// URL (redis://[:password@]host:port[/db])',
  );
  const batchingRaw = text('FLEETGRAPH_BATCHING') ?? 'on';
  if (!['on', 'off'].includes(batchingRaw))
    problems.push(`FLEETGRAPH_BATCHING must be on or off, got "${batchingRaw}"`);

  const config: FleetgraphConfig = {
    nodeEnv,
    port: int('PORT', 4000, 0, 65535),
    adminPort: text('ADMIN_PORT') === undefined ? null : int('ADMIN_PORT', 0, 0, 65535),
    tracing: {
      otlpEndpoint: url('OTEL_EXPORTER_OTLP_ENDPOINT') ?? null,
      serviceName: text('OTEL_SERVICE_NAME') ?? 'fleetgraph',
    },
    host: text('HOST') ?? '0.0.0.0',
    upstreams,
    readCacheTtlMs: int('READ_CACHE_TTL_MS', 10_000, 0, 3_600_000),
    resilience: {
      timeoutMs: { kdms: 0, knoxManage: 0, box: 0 },
      deadlineMs: int('UPSTREAM_DEADLINE_MS', 20_000, 100, 600_000),
      requestsPerMinute: {
        kdms: int('KDMS_REQUESTS_PER_MINUTE', 0, 0, 1_000_000),
        knoxManage: int('KNOX_MANAGE_REQUESTS_PER_MINUTE', 1800, 0, 1_000_000),
        box: int('BOX_REQUESTS_PER_MINUTE', 0, 0, 1_000_000),
      },
      callerShare: int('UPSTREAM_CALLER_SHARE_PERCENT', 50, 1, 100) / 100,
      backgroundShare: int('UPSTREAM_BACKGROUND_SHARE_PERCENT', 25, 1, 100) / 100,
      maxConcurrencyPerEndpoint: int('UPSTREAM_MAX_CONCURRENCY_PER_ENDPOINT', 0, 0, 1024),
      retries: int('UPSTREAM_RETRIES', 2, 0, 10),
      maxConcurrency: int('UPSTREAM_MAX_CONCURRENCY', 32, 1, 1024),
      breakerErrorPercent: int('BREAKER_ERROR_PERCENT', 50, 1, 100),
      breakerVolume: int('BREAKER_VOLUME', 10, 1, 100_000),
      breakerResetMs: int('BREAKER_RESET_MS', 10_000, 10, 3_600_000),
    },
    auth: null,
    introspection: false,
    explorer: 'off',
    persistedDocuments: { mode: 'off', file: null, routerSecret: null },
    cors: { origins: [], loopback: false, credentials: false },
    limits: {
      maxDepth: int('MAX_QUERY_DEPTH', 15, 2, 100),
      maxAliases: int('MAX_ALIASES', 15, 0, 1000),
      maxTokens: int('MAX_TOKENS', 2000, 50, 100_000),
      maxDirectives: int('MAX_DIRECTIVES', 5, 0, 1000),
      maxFieldRepeats: int('MAX_FIELD_REPEATS', 3, 1, 1000),
      maxCost: int('MAX_QUERY_COST', 25_000, 10, 100_000_000),
      maxRequestBytes: int('MAX_REQUEST_BYTES', 1_048_576, 1024, 104_857_600),
    },
    logLevel: text('LOG_LEVEL') ?? 'info',
    readinessProbeMs: int('READINESS_PROBE_MS', 5_000, 0, 3_600_000),
    heapGrowthPercent: int('HEAP_GROWTH_PERCENT', 50, 0, 300),
    batching: batchingRaw !== 'off',
    embedded: {
      fleetSize: int('FLEET_SIZE', 1000, 0, 1_000_000),
      fleetSeed: text('FLEET_SEED') ?? 'fleetgraph',
      kdmsAsyncDelayMs: int('KDMS_ASYNC_DELAY_MS', 2000, 0, 3_600_000),
    },
    cache: { url: cacheUrl, connectTimeoutMs: int('CACHE_CONNECT_TIMEOUT_MS', 5_000, 100, 300_000) },
    jobs: { storeFile: null, webhookPublicUrl: null, webhookTimeoutMs: 0, pollIntervalMs: 0 },
    fleetIndex: null,
  };
  const timeout = int('UPSTREAM_TIMEOUT_MS', 10_000, 100, 300_000);
  config.resilience.timeoutMs = {
    kdms: int('KDMS_TIMEOUT_MS', timeout, 100, 300_000),
    knoxManage: int('KNOX_MANAGE_TIMEOUT_MS', timeout, 100, 300_000),
    box: int('BOX_TIMEOUT_MS', timeout, 100, 300_000),
  };
  const bool = (name: VariableName, fallback: boolean): boolean => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const production = nodeEnv === 'production';
  config.introspection = bool('GRAPHQL_INTROSPECTION', !production);
  const explorer = text('EXPLORER');
  const sandboxFlag = text('GRAPHQL_SANDBOX');
  if (explorer !== undefined && sandboxFlag !== undefined)
    problems.push('set EXPLORER or GRAPHQL_SANDBOX (its former name), not both');
  if (explorer !== undefined && !(EXPLORER_MODES as readonly string[]).includes(explorer))
    problems.push(`EXPLORER must be one of ${EXPLORER_MODES.join(', ')}, got "${explorer}"`);
  config.explorer =
    explorer !== undefined && (EXPLORER_MODES as readonly string[]).includes(explorer)
      ? (explorer as ExplorerMode)
      : sandboxFlag !== undefined
        ? // The former switch: Sandbox on meant Apollo Sandbox at the graph URL, which `auto` still is.
          bool('GRAPHQL_SANDBOX', false)
          ? 'auto'
          : 'off'
        : production
          ? 'off'
          : 'auto';
  const persisted = text('PERSISTED_DOCUMENTS');
  if (persisted !== undefined && !(PERSISTED_DOCUMENTS_MODES as readonly string[]).includes(persisted))
    problems.push(
      `PERSISTED_DOCUMENTS must be one of ${PERSISTED_DOCUMENTS_MODES.join(', ')}, got "${persisted}"`,
    );
  config.persistedDocuments = {
    // `allow`, not `require`, in production: callers other than the client package (scripts, the explorer,
    // other teams' queries) keep working until an operator opts in to `require`.
    mode:
      persisted !== undefined && (PERSISTED_DOCUMENTS_MODES as readonly string[]).includes(persisted)
        ? (persisted as PersistedDocumentsMode)
        : production
          ? 'allow'
          : 'off',
    file: text('PERSISTED_DOCUMENTS_FILE') ?? null,
    routerSecret: text('ROUTER_SECRET') ?? null,
  };
  if (config.persistedDocuments.routerSecret !== null && config.persistedDocuments.routerSecret.length < 32)
    problems.push('ROUTER_SECRET must be at least 32 characters');
  config.cors = {
    origins: corsOrigins(text('CORS_ORIGINS'), problems),
    // Pages on this machine (a frontend's dev server) may call a development graph unless CORS_ORIGINS says.
    loopback: text('CORS_ORIGINS') === undefined && !production,
    credentials: bool('CORS_CREDENTIALS', false),
  };
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    problems.push(
      `LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${config.logLevel}"`,
    );
  }
  const jwtSecret = text('AUTH_JWT_SECRET') ?? null;
  const jwksUrl = url('AUTH_JWKS_URL') ?? null;
  if (jwtSecret !== null && jwtSecret.length < 32)
    problems.push('AUTH_JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit key)');
  if (jwtSecret !== null && jwksUrl !== null) problems.push('set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both');
  if (jwtSecret !== null || jwksUrl !== null) {
    config.auth = {
      jwtSecret,
      jwksUrl,
      issuer: text('AUTH_JWT_ISSUER') ?? null,
      audience: text('AUTH_JWT_AUDIENCE') ?? null,
      clockSkewSeconds: int('AUTH_CLOCK_SKEW_SECONDS', 60, 0, 3600),
      jwks: {
        refreshMs: int('AUTH_JWKS_REFRESH_MS', 60_000, 1_000, 86_400_000),
        timeoutMs: int('AUTH_JWKS_TIMEOUT_MS', 3_000, 100, 60_000),
        cooldownMs: int('AUTH_JWKS_COOLDOWN_MS', 5_000, 0, 3_600_000),
        maxStaleMs: int('AUTH_JWKS_MAX_STALE_MS', 3_600_000, 1_000, 604_800_000),
      },
    };
    if (jwksUrl !== null && production) {
      // Another issuer's or another application's tokens must not pass: name both. Keys fetched over
      // plain http can be swapped by anyone on the path.
      if (!config.auth.issuer)
        problems.push(
          "AUTH_JWT_ISSUER is required with AUTH_JWKS_URL in production (the `iss` callers' tokens carry)",
        );
      if (!config.auth.audience)
        problems.push(
          'AUTH_JWT_AUDIENCE is required with AUTH_JWKS_URL in production (the `aud` naming Fleetgraph)',
        );
      if (new URL(jwksUrl).protocol !== 'https:' && !bool('AUTH_JWKS_ALLOW_HTTP', false))
        problems.push(
          'AUTH_JWKS_URL must be an https:// URL in production (AUTH_JWKS_ALLOW_HTTP=true allows http:// for test setups)',
        );
    }
    if (config.auth.jwks.maxStaleMs < config.auth.jwks.refreshMs)
      problems.push('AUTH_JWKS_MAX_STALE_MS must be at least AUTH_JWKS_REFRESH_MS');
  } else if (production) {
    problems.push('NODE_ENV=production needs caller authentication: set AUTH_JWT_SECRET or AUTH_JWKS_URL');
  }
  const webhookPublicUrl = url('WEBHOOK_PUBLIC_URL') ?? null;
  if (upstreams && !webhookPublicUrl) {
    problems.push(
      'WEBHOOK_PUBLIC_URL is required with real upstreams: the https URL at which KDMS reaches POST /webhooks/knox',
    );
  }
  const jobStoreFile = text('JOB_STORE_FILE');
  if (cacheUrl !== null && jobStoreFile !== undefined && jobStoreFile !== 'memory')
    problems.push(
      'JOB_STORE_FILE and CACHE_URL are both set: with CACHE_URL upload jobs live in Redis; unset one',
    );
  config.jobs = {
    storeFile:
      cacheUrl !== null || jobStoreFile === 'memory' ? null : (jobStoreFile ?? DEFAULT_JOB_STORE_FILE),
    webhookPublicUrl,
    // Embedded uploads settle within seconds; real KDMS may take minutes.
    webhookTimeoutMs: int(
      'WEBHOOK_TIMEOUT_MS',
      upstreams ? 15 * 60_000 : Math.max(10_000, config.embedded.kdmsAsyncDelayMs * 5),
      100,
      86_400_000,
    ),
    pollIntervalMs: int('JOB_POLL_INTERVAL_MS', upstreams ? 60_000 : 2_000, 50, 3_600_000),
  };
  const fleetIndex = text('FLEET_INDEX') ?? 'on';
  if (!['on', 'off'].includes(fleetIndex))
    problems.push(`FLEET_INDEX must be on or off, got "${fleetIndex}"`);
  const fleetIndexDatabaseUrl = secretUrl(
    'FLEET_INDEX_DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'postgres:// URL (postgres://user[:password]@host:port/database)',
  );
  const syncInterval = text('FLEET_SYNC_INTERVAL') ?? DEFAULT_FLEET_SYNC_INTERVAL;
  const syncIntervalMs = parseDuration(syncInterval);
  if (syncIntervalMs === null || syncIntervalMs < 1000 || syncIntervalMs > 7 * 86_400_000)
    problems.push(
      `FLEET_SYNC_INTERVAL must be a duration between 1s and 7d such as 15m, 1h or 900s, got "${syncInterval}"`,
    );
  config.fleetIndex =
    fleetIndex === 'off'
      ? null
      : {
          // Embedded emulators start afresh each run: their index would be a copy of nothing that lasts.
          file: text('FLEET_INDEX_FILE') ?? (upstreams ? DEFAULT_FLEET_INDEX_FILE : 'memory'),
          databaseUrl: fleetIndexDatabaseUrl,
          syncIntervalMs: syncIntervalMs ?? 15 * 60_000,
        };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
