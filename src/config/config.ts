/**
 * Configuration from environment variables (names fixed by DESIGN §9), validated at start with one
 * clear message per bad value. With no upstream URL set, Fleetgraph runs in embedded mode: it starts
 * the three emulators in-process and uses their development credentials.
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

export interface FleetgraphConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Null: embedded mode (emulators in-process). */
  upstreams: UpstreamsConfig | null;
  /** How long whole-list upstream reads are cached; 0 turns the read cache off. */
  readCacheTtlMs: number;
  upstreamTimeoutMs: number;
  /** Off only for the benchmark's naive baseline. */
  batching: boolean;
  embedded: { fleetSize: number; fleetSeed: string; kdmsAsyncDelayMs: number };
  jobs: {
    /** Where upload jobs persist (keyv-file), so restarts keep them; null (`JOB_STORE_FILE=memory`) keeps them in memory. */
    storeFile: string | null;
    /** The URL KDMS calls back (Knox Webhook Notification); embedded mode defaults to this server. */
    webhookPublicUrl: string | null;
    /** A job with no callback after this long is settled by polling KDMS. */
    webhookTimeoutMs: number;
    pollIntervalMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Fleetgraph cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_KDMS_TOKEN_URL = 'https://api.samsungknox.com/ams/v1/oauth2/token';

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): FleetgraphConfig {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const url = (name: string): string | undefined => {
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
  const required = (name: string, why: string): string => {
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
  const anySet = ['KDMS_URL', 'KNOX_MANAGE_URL', 'BOX_URL'].some((n) => text(n) !== undefined);
  let upstreams: UpstreamsConfig | null = null;
  if (anySet) {
    for (const name of ['KDMS_URL', 'KNOX_MANAGE_URL', 'BOX_URL'] as const) {
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
  if (text('CACHE_URL') !== undefined) {
    problems.push(
      'CACHE_URL (a shared Redis) is not supported by this version yet; unset it to use the in-memory stores',
    );
  }
  const batchingRaw = text('FLEETGRAPH_BATCHING') ?? 'on';
  if (!['on', 'off'].includes(batchingRaw))
    problems.push(`FLEETGRAPH_BATCHING must be on or off, got "${batchingRaw}"`);

  const config: FleetgraphConfig = {
    nodeEnv,
    port: int('PORT', 4000, 0, 65535),
    host: text('HOST') ?? '0.0.0.0',
    upstreams,
    readCacheTtlMs: int('READ_CACHE_TTL_MS', 10_000, 0, 3_600_000),
    upstreamTimeoutMs: int('UPSTREAM_TIMEOUT_MS', 10_000, 100, 300_000),
    batching: batchingRaw !== 'off',
    embedded: {
      fleetSize: int('FLEET_SIZE', 1000, 0, 1_000_000),
      fleetSeed: text('FLEET_SEED') ?? 'fleetgraph',
      kdmsAsyncDelayMs: int('KDMS_ASYNC_DELAY_MS', 2000, 0, 3_600_000),
    },
    jobs: { storeFile: null, webhookPublicUrl: null, webhookTimeoutMs: 0, pollIntervalMs: 0 },
  };
  const webhookPublicUrl = url('WEBHOOK_PUBLIC_URL') ?? null;
  if (upstreams && !webhookPublicUrl) {
    problems.push(
      'WEBHOOK_PUBLIC_URL is required with real upstreams: the https URL at which KDMS reaches POST /webhooks/knox',
    );
  }
  config.jobs = {
    storeFile:
      text('JOB_STORE_FILE') === 'memory' ? null : (text('JOB_STORE_FILE') ?? '.fleetgraph/jobs.json'),
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
  if (problems.length) throw new ConfigError(problems);
  return config;
}
