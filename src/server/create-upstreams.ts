import type { StoreFactory } from '../cache/create-store.js';
import type { ResilienceConfig, UpstreamsConfig } from '../config/config.js';
import { UpstreamReads } from '../loaders/upstream-reads.js';
import type { FleetIndexRuntime } from '../fleet-index/fleet-index-runtime.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ClientCredentialsTokenProvider } from '../upstreams/auth/client-credentials.js';
import { BoxClient } from '../upstreams/box/box.client.js';
import type { UpstreamName } from '../upstreams/errors.js';
import { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import { KnoxManageClient } from '../upstreams/knox-manage/knox-manage.client.js';
import { KNOX_MANAGE_TOKEN_PATH } from '../upstreams/knox-manage/knox-manage.wire.js';
import { KNOX_MANAGE_REQUESTS_PER_MINUTE } from '../upstreams/knox-manage/knox-manage.wire.js';
import { DEFAULT_BACKGROUND_SHARE, DEFAULT_CALLER_SHARE, UpstreamHttp } from '../upstreams/upstream-http.js';
import type { CallScope, UpstreamCall } from '../upstreams/upstream-http.js';

/**
 * Request budgets and per-endpoint concurrency (to be read from the environment by config.ts; these are
 * the defaults when it does not). Budgets are per process: with N replicas, give each 1/N of the quota.
 */
export interface UpstreamBudgetConfig {
  /** Requests per minute per upstream; 0 = no budget. Knox Manage's documented quota by default. */
  requestsPerMinute: { kdms: number; knoxManage: number; box: number };
  /** Largest share of a budget one caller (JWT subject) may spend in any minute. */
  callerShare: number;
  /** Largest share of a budget background work (job polling) may spend. */
  backgroundShare: number;
  /** Calls in flight per endpoint; 0 = half of the upstream's maxConcurrency. */
  maxConcurrencyPerEndpoint: number;
}

export const DEFAULT_UPSTREAM_BUDGETS: UpstreamBudgetConfig = {
  requestsPerMinute: { kdms: 0, knoxManage: KNOX_MANAGE_REQUESTS_PER_MINUTE, box: 0 },
  callerShare: DEFAULT_CALLER_SHARE,
  backgroundShare: DEFAULT_BACKGROUND_SHARE,
  maxConcurrencyPerEndpoint: 0,
};

/** process-wide: one client, one keep-alive agent, one breaker and one token provider per upstream. */
export interface Upstreams {
  kdms: KdmsClient;
  knoxManage: KnoxManageClient;
  box: BoxClient;
  reads: UpstreamReads;
  /** The synced fleet index (set by the server once it is open); absent with FLEET_INDEX=off. */
  fleetIndex?: FleetIndexRuntime;
  http: Record<'kdms' | 'knoxManage' | 'box', UpstreamHttp>;
  tokenProviders: { kdms: ClientCredentialsTokenProvider; knoxManage: ClientCredentialsTokenProvider };
  /**
   * Clients whose calls carry one request's id, caller and abort signal (per request; they share agents,
   * breakers, budgets and tokens).
   */
  forRequest(scope: string | CallScope): Pick<Upstreams, 'kdms' | 'knoxManage' | 'box'>;
  /** Clients for background work (job polling): admitted last, never spending the whole budget. */
  background: Pick<Upstreams, 'kdms' | 'knoxManage' | 'box'>;
}

export interface CreateUpstreamsOptions {
  config: UpstreamsConfig;
  stores: StoreFactory;
  readCacheTtlMs: number;
  /** Budget fields are optional until config.ts reads them; DEFAULT_UPSTREAM_BUDGETS fills the gaps. */
  resilience?: ResilienceConfig & Partial<UpstreamBudgetConfig>;
  metrics?: Metrics;
  logger?: Logger;
}

export function createUpstreams({
  config,
  stores,
  readCacheTtlMs,
  resilience,
  metrics,
  logger,
}: CreateUpstreamsOptions): Upstreams {
  const tokens = stores.create('tokens');
  // Tokens and cached reads do without the shared store while it is away; /metrics counts how often.
  const storeErrorReporter =
    (purpose: 'tokens' | 'reads') =>
    (error: unknown): void => {
      metrics?.storeErrors.inc({ purpose });
      logger?.debug({ purpose, err: error instanceof Error ? error.message : String(error) }, 'store error');
    };
  const tokenOptions = { locks: stores.locks, onStoreError: storeErrorReporter('tokens') };
  const onCall = (call: UpstreamCall): void => {
    metrics?.upstreamCalls.inc({
      upstream: call.upstream,
      endpoint: call.endpoint,
      status: call.status === null ? 'error' : String(call.status),
    });
    metrics?.upstreamDuration.observe(
      { upstream: call.upstream, endpoint: call.endpoint },
      call.durationMs / 1000,
    );
    if (call.retry) metrics?.upstreamRetries.inc({ upstream: call.upstream, endpoint: call.endpoint });
    logger?.debug(
      {
        upstream: call.upstream,
        endpoint: call.endpoint,
        status: call.status,
        ms: Math.round(call.durationMs),
        retry: call.retry,
      },
      'upstream call',
    );
  };
  const onBreakerChange = (upstream: UpstreamName, state: 'open' | 'half-open' | 'closed'): void => {
    metrics?.breakerState.set({ upstream }, state === 'open' ? 1 : 0);
    logger?.warn({ upstream, state }, `circuit breaker ${state}`);
  };
  const budgets: UpstreamBudgetConfig = {
    requestsPerMinute: { ...DEFAULT_UPSTREAM_BUDGETS.requestsPerMinute, ...resilience?.requestsPerMinute },
    callerShare: resilience?.callerShare ?? DEFAULT_UPSTREAM_BUDGETS.callerShare,
    backgroundShare: resilience?.backgroundShare ?? DEFAULT_UPSTREAM_BUDGETS.backgroundShare,
    maxConcurrencyPerEndpoint:
      resilience?.maxConcurrencyPerEndpoint ?? DEFAULT_UPSTREAM_BUDGETS.maxConcurrencyPerEndpoint,
  };
  const keyOf = { KDMS: 'kdms', KNOX_MANAGE: 'knoxManage', BOX: 'box' } as const;
  const http = (upstream: UpstreamName, baseUrl: string, timeoutMs: number | undefined) =>
    new UpstreamHttp({
      upstream,
      baseUrl,
      onCall,
      onBreakerChange,
      resilience: {
        requestsPerMinute: budgets.requestsPerMinute[keyOf[upstream]],
        callerShare: budgets.callerShare,
        backgroundShare: budgets.backgroundShare,
        maxConcurrencyPerEndpoint: budgets.maxConcurrencyPerEndpoint,
        ...(resilience
          ? {
              ...(timeoutMs ? { timeoutMs } : {}),
              deadlineMs: resilience.deadlineMs,
              retries: resilience.retries,
              maxConcurrency: resilience.maxConcurrency,
              breaker: {
                errorThresholdPercentage: resilience.breakerErrorPercent,
                volumeThreshold: resilience.breakerVolume,
                resetTimeoutMs: resilience.breakerResetMs,
                rollingWindowMs: Math.max(10_000, resilience.breakerResetMs),
              },
            }
          : {}),
      },
    });
  const kdmsHttp = http('KDMS', config.kdms.url, resilience?.timeoutMs.kdms);
  const knoxManageHttp = http('KNOX_MANAGE', config.knoxManage.url, resilience?.timeoutMs.knoxManage);
  const boxHttp = http('BOX', config.box.url, resilience?.timeoutMs.box);
  const kdmsTokens = new ClientCredentialsTokenProvider(kdmsHttp, { ...config.kdms }, tokens, tokenOptions);
  const knoxManageTokens = new ClientCredentialsTokenProvider(
    knoxManageHttp,
    {
      tokenUrl: config.knoxManage.url + KNOX_MANAGE_TOKEN_PATH,
      clientId: config.knoxManage.clientId,
      clientSecret: config.knoxManage.clientSecret,
    },
    tokens,
    tokenOptions,
  );
  const kdmsUrls = { kwnUrl: config.kdms.kwnUrl, certificateUrl: config.kdms.certificateUrl };
  const kdms = new KdmsClient(kdmsHttp, kdmsTokens, kdmsUrls);
  const knoxManage = new KnoxManageClient(knoxManageHttp, knoxManageTokens);
  const box = new BoxClient(boxHttp, config.box.apiKey);
  // Views of the shared upstreams: one request's id, caller and signal, or background priority.
  const clientsFor = (scope: CallScope) => ({
    kdms: new KdmsClient(kdmsHttp.forRequest(scope), kdmsTokens, kdmsUrls),
    knoxManage: new KnoxManageClient(knoxManageHttp.forRequest(scope), knoxManageTokens),
    box: new BoxClient(boxHttp.forRequest(scope), config.box.apiKey),
  });
  return {
    kdms,
    knoxManage,
    box,
    reads: new UpstreamReads(
      knoxManage,
      box,
      stores.create('reads'),
      readCacheTtlMs,
      metrics,
      storeErrorReporter('reads'),
    ),
    http: { kdms: kdmsHttp, knoxManage: knoxManageHttp, box: boxHttp },
    tokenProviders: { kdms: kdmsTokens, knoxManage: knoxManageTokens },
    forRequest: (scope) => clientsFor(typeof scope === 'string' ? { requestId: scope } : scope),
    background: clientsFor({ priority: 'background' }),
  };
}
