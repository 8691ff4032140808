import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { StoreFactory } from '../cache/create-store.js';
import { SharedStoreError } from '../cache/errors.js';
import { ConfigError } from '../config/config.js';
import type { FleetgraphConfig, UpstreamsConfig } from '../config/config.js';
import { createJobEvents } from '../jobs/job-events.js';
import type { UploadJob } from '../jobs/upload-job.js';
import { UploadJobStore } from '../jobs/upload-job.store.js';
import { UploadJobService } from '../jobs/upload-jobs.js';
import { WebhookVerifier } from '../jobs/webhook-verifier.js';
import { silentLogger } from '../observability/logger.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Metrics } from '../observability/metrics.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../observability/request-scope.js';
import { startTracing, tracingPlugin } from '../observability/tracing.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { CallerAuth } from '../schema/auth-checker.js';
import type { GraphContext } from '../schema/context.js';
import { formatGraphQLError, isInternalError } from '../schema/errors.js';
import { AuthUnavailableError, AuthenticationError, createCallerAuthenticator } from './caller-auth.js';
import { createContext } from './create-context.js';
import { corsMiddleware } from './cors.js';
import { findExplorerBundle } from './explorer/explorer-bundle.js';
import type { ExplorerBundle } from './explorer/explorer-bundle.js';
import { EXPLORER_ASSETS_PATH, explorerAssets, explorerLandingPage } from './explorer/explorer-page.js';
import type { ExplorerPageMode } from './explorer/explorer-page.js';
import { createUpstreams } from './create-upstreams.js';
import { MAX_HEADER_BYTES, headerBytes, httpErrorHandler, refuseLargeHeaders } from './http-errors.js';
import type { Upstreams } from './create-upstreams.js';
import {
  checkSubscribePayload,
  isRouterSecret,
  loadPersistedDocuments,
  persistedDocumentsMiddleware,
  ROUTER_AUTHORIZATION,
} from './persisted-documents.js';
import { QueryLimitError, QueryLimiter } from './query-limits.js';
import { WEBHOOK_PATH, webhookRouter } from './webhook-route.js';
import { openFleetIndex, refreshFromJob } from '../fleet-index/create-fleet-index.js';
import { INDEX_SOURCES } from '../fleet-index/fleet-index.js';
import type { SourceSyncState } from '../fleet-index/fleet-index.js';
import type { FleetIndexStatus } from '../fleet-index/fleet-sync.js';

/** The fleet index as /readyz reports it. */
function indexReadiness(status: FleetIndexStatus) {
  return {
    status: status.status,
    engine: status.engine,
    shared: status.shared,
    lastFullSyncAt: status.lastFullSyncAt,
    lastFullSyncMs: status.lastFullSyncMs,
    progressPercent: status.progressPercent,
    syncingReplica: status.syncingReplica,
    engineError: status.engineError,
    records: Object.fromEntries(INDEX_SOURCES.map((s) => [s, status.sources[s].records])),
    sources: status.sources,
  };
}

/**
 * Builds the HTTP server (Express + Apollo Server + graphql-ws) without listening, so tests run the
 * real server in-process and the CLI and benchmark run it as a process.
 */
export interface CreateServerOptions {
  config: FleetgraphConfig;
  upstreams: UpstreamsConfig;
  schema: GraphQLSchema;
  stores: StoreFactory;
  logger?: Logger;
  /** Spans also go here (tests); config.tracing.otlpEndpoint turns OTLP export on. */
  traceExporter?: SpanExporter;
}

export const WEBHOOK_MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** How long the first /readyz waits for the first probe before answering "starting". */
const READINESS_FIRST_WAIT_MS = 2_000;

export interface FleetgraphServer {
  httpServer: Server;
  /** /healthz, /readyz and /metrics when ADMIN_PORT is set; null when they share httpServer. */
  adminServer: Server | null;
  upstreams: Upstreams;
  jobs: UploadJobService;
  metrics: Metrics;
  stores: StoreFactory;
  /** Starts listening; resolves with the GraphQL endpoint URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Drains HTTP requests and subscriptions, then closes stores. */
  stop(): Promise<void>;
}

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** The caller's token could not be checked (its JWKS is unreachable): a server-side outage, not a bad token. */
function authUnavailable(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'AUTH_UNAVAILABLE', http: { status: 503 } } });
}

/** Listens, or says why not as a setting to change (a ConfigError: no stack trace): port taken, HOST not ours. */
function listenOn(server: Server, port: number, host: string, setting: 'PORT' | 'ADMIN_PORT'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const problem =
        error.code === 'EADDRINUSE'
          ? `port ${port} is in use: set ${setting} to a free port, or stop what listens on it`
          : error.code === 'EACCES'
            ? `port ${port} needs privileges this process lacks: set ${setting} to a port above 1023`
            : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
              ? `HOST "${host}" does not resolve to an address: set HOST to an address of this machine (0.0.0.0 for all)`
              : error.code === 'EADDRNOTAVAIL'
                ? `HOST "${host}" is not an address of this machine: set HOST to one (0.0.0.0 for all)`
                : null;
      reject(problem ? new ConfigError([problem]) : error);
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** The operation a request names: its `operationName`, else the document's first named operation. */
function operationNameOf(req: Request): string | null {
  const body = req.body as { operationName?: unknown; query?: unknown } | undefined;
  const named = typeof body?.operationName === 'string' ? body.operationName : null;
  const query =
    typeof body?.query === 'string'
      ? body.query
      : typeof req.query.query === 'string'
        ? req.query.query
        : null;
  const name =
    named ??
    (query
      ? (/^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(query)?.[1] ?? null)
      : null);
  return name ? name.slice(0, 64) : null;
}

/** Distinct operation names /metrics keeps apart; later names share one label. */
const MAX_OPERATION_LABELS = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Operation names as metric labels from a bounded set: the first MAX_OPERATION_LABELS well-formed names
 * seen, then `other`. Names come from callers (even unauthenticated ones), so they must not grow the
 * registry without bound.
 */
function operationLabels(): (name: string | null | undefined) => string {
  const known = new Set<string>();
  return (name) => {
    if (!name) return 'anonymous';
    if (known.has(name)) return name;
    if (!OPERATION_NAME.test(name) || known.size >= MAX_OPERATION_LABELS) return 'other';
    known.add(name);
    return name;
  };
}

/** GraphQL errors and durations per operation, for /metrics. */
function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GraphContext> {
  const label = operationLabels();
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, errors, response }) {
          const operation = label(operationName);
          const body = response.body.kind === 'single' ? response.body.singleResult : null;
          // The formatted errors the caller got, each once; the raw ones only when no body carries them.
          const sent: ReadonlyArray<{ extensions?: Record<string, unknown> }> = body?.errors ?? errors ?? [];
          metrics.graphqlRequests.inc({ operation, outcome: sent.length ? 'error' : 'ok' });
          for (const error of sent)
            metrics.graphqlErrors.inc({
              operation,
              code: String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'),
            });
          metrics.graphqlDuration.observe({ operation }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

export async function createFleetgraphServer({
  config,
  upstreams: upstreamsConfig,
  schema,
  stores,
  logger = silentLogger(),
  traceExporter,
}: CreateServerOptions): Promise<FleetgraphServer> {
  const development = config.nodeEnv !== 'production';
  // The GraphiQL bundle, for `auto` (its fallback) and `graphiql`: built by `npm run build`, or from the
  // sources on first use; a compiled tree without it can still offer Apollo Sandbox. Settled before anything
  // starts, so a refusal leaves nothing running.
  let explorerMode: ExplorerPageMode | null = config.explorer === 'off' ? null : config.explorer;
  let explorerBundle: ExplorerBundle | null = null;
  if (explorerMode === 'auto' || explorerMode === 'graphiql') {
    explorerBundle = findExplorerBundle(logger);
    if (!explorerBundle && explorerMode === 'graphiql')
      throw new ConfigError([
        'EXPLORER=graphiql needs the GraphiQL bundle, which this build lacks: `npm run build` writes it to dist/explorer/',
      ]);
    if (!explorerBundle) {
      logger.warn(
        'this build has no GraphiQL bundle (`npm run build` writes it to dist/explorer/): the explorer is Apollo Sandbox only',
      );
      explorerMode = 'sandbox';
    }
  }
  const metrics = createMetrics();
  const queryLimiter = new QueryLimiter(schema, config.limits);
  // Read once: a missing or tampered manifest refuses to start rather than refusing every request.
  const persistedDocuments = loadPersistedDocuments(config.persistedDocuments);
  // Null (and nothing loaded) unless OTEL_EXPORTER_OTLP_ENDPOINT is set or a test passes an exporter.
  const tracing = await startTracing({
    ...config.tracing,
    ...(traceExporter ? { exporter: traceExporter } : {}),
  });
  const upstreams = createUpstreams({
    config: upstreamsConfig,
    stores,
    readCacheTtlMs: config.readCacheTtlMs,
    resilience: config.resilience,
    metrics,
    logger,
  });
  const jobEvents = createJobEvents(await stores.broadcast<UploadJob>('fleetgraph:job-events'));
  metrics.watchJobEventListeners(() => jobEvents.listenerCount());
  // Job polling is background work: it spends the upstream budget's background share, never callers'.
  const jobs = new UploadJobService(
    upstreams.background.kdms,
    new UploadJobStore(stores.create('jobs'), stores.locks, logger),
    jobEvents,
    stores.locks,
    logger,
  );
  // The fleet index: listings, joins and _entities read it once synced (the benchmark's naive baseline
  // reads the APIs per key, so it runs without one).
  const fleetIndex =
    config.fleetIndex && config.batching
      ? await openFleetIndex(config.fleetIndex, upstreamsConfig, upstreams.background, logger)
      : null;
  if (fleetIndex) {
    upstreams.fleetIndex = fleetIndex;
    jobs.onSettled = refreshFromJob(fleetIndex, upstreams.background.kdms);
    metrics.watchFleetIndex(() => {
      const { sources, progressPercent } = fleetIndex.sync.status();
      const each = (pick: (s: SourceSyncState) => number) =>
        Object.fromEntries(INDEX_SOURCES.map((s) => [s, pick(sources[s])]));
      return {
        records: each((s) => s.records),
        lastFullSync: each((s) => (s.lastFullSyncAt ? Date.parse(s.lastFullSyncAt) / 1000 : 0)),
        failing: each((s) => (s.lastError ? 1 : 0)),
        progressPercent: progressPercent ?? -1,
      };
    });
    if (config.cache.url && !config.fleetIndex?.databaseUrl)
      logger.warn(
        'replicas sharing CACHE_URL each keep and sync their own fleet index: set FLEET_INDEX_DATABASE_URL so they share one (and one sync)',
      );
    await fleetIndex.sync.start();
  }
  const verifier = new WebhookVerifier(() => upstreams.kdms.downloadCertificate());
  const authenticator = config.auth ? createCallerAuthenticator(config.auth) : null;

  /** The caller of a request or WebSocket connection; a bad token is refused outright (401). */
  const callerAuth = async (authorization: string | undefined): Promise<CallerAuth> => {
    if (!authenticator) return { enabled: false, principal: null };
    try {
      return { enabled: true, principal: await authenticator.authenticate(authorization) };
    } catch (error) {
      if (error instanceof AuthUnavailableError) throw authUnavailable(error.message);
      throw unauthenticated(error instanceof AuthenticationError ? error.message : 'Invalid bearer token');
    }
  };
  const context = (auth: CallerAuth, requestId: string = requestIdFrom(undefined), signal?: AbortSignal) =>
    createContext({
      auth,
      requestId,
      ...(signal ? { signal } : {}),
      upstreams,
      jobs,
      batching: config.batching,
      metrics,
    });

  const app = express();
  app.disable('x-powered-by');
  // GET parameters parsed the way Apollo parses them (URLSearchParams, every key). Express's default,
  // querystring, stops after 1,000 keys: a GET with 1,000 filler parameters before `query` hid the
  // document from the trusted-documents and limits middlewares while Apollo still ran it.
  app.set('query parser', (query: string) => Object.fromEntries(new URLSearchParams(query)));
  // KWN callbacks carry a compact JWS whose payload is the whole body in a header: a 10,000-device
  // result is about 1 MB of header. Node's 16 KB default would answer 431 to every large callback.
  // Every other route refuses big headers before its own work starts (refuseLargeHeaders).
  const httpServer = createServer({ maxHeaderSize: WEBHOOK_MAX_HEADER_BYTES }, (req, res) => {
    if (!refuseLargeHeaders(req, res)) app(req, res);
  });

  // Subscriptions (graphql-ws) share the /graphql path with queries, as Apollo Sandbox expects.
  // Upgrades are handed over here rather than binding the WebSocket server to httpServer: bound, it re-emits
  // the HTTP server's errors (a port in use at start) and graphql-ws prints them with a stack trace.
  const wsServer = new WebSocketServer({
    noServer: true,
    path: '/graphql',
    maxPayload: config.limits.maxRequestBytes,
    verifyClient: ({ req }: { req: IncomingMessage }) => headerBytes(req) <= MAX_HEADER_BYTES,
  });
  httpServer.on('upgrade', (req, socket, head) => {
    if (!wsServer.shouldHandle(req)) {
      socket.destroy();
      return;
    }
    wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req));
  });
  /** graphql-ws sends errors as graphql-js prints them: give them the same `extensions` as HTTP answers. */
  const formatWsErrors = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => formatGraphQLError(error.toJSON(), error, { development }));
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      context: async (ctx) =>
        context(
          await callerAuth(
            typeof ctx.connectionParams?.authorization === 'string'
              ? ctx.connectionParams.authorization
              : undefined,
          ),
        ),
      // With caller auth on, a connection without a valid token is closed at once (4403 Forbidden).
      onConnect: async (ctx) => {
        const authorization =
          typeof ctx.connectionParams?.authorization === 'string'
            ? ctx.connectionParams.authorization
            : undefined;
        if (authenticator && !authorization) return false;
        try {
          await callerAuth(authorization);
          return true;
        } catch {
          return false;
        }
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatWsErrors(result.errors) } : result,
      // Errors before execution are the document's (validation), as Apollo labels them over HTTP.
      onError: (_ctx, _id, _payload, errors) =>
        formatWsErrors(
          errors.map(
            (e) =>
              new GraphQLError(e.message, {
                nodes: e.nodes ?? null,
                originalError: e.originalError ?? null,
                extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...e.extensions },
              }),
          ),
        ),
      onSubscribe: (ctx, _id, payload) => {
        // First: a hash-only subscription gets its document here, before the limits read it.
        const untrusted = checkSubscribePayload(
          persistedDocuments,
          payload,
          isRouterSecret(
            config.persistedDocuments.routerSecret,
            ctx.connectionParams?.[ROUTER_AUTHORIZATION],
          ),
        );
        if (untrusted) return untrusted;
        try {
          queryLimiter.check(payload.query, payload.variables ?? undefined);
          return undefined;
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('Invalid subscription')];
        }
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphContext>({
    schema,
    introspection: config.introspection,
    allowBatchedHttpRequests: false,
    // Defence in depth: the limits middleware parses first, but Apollo's own parse is bounded too.
    parseOptions: { maxTokens: config.limits.maxTokens },
    // The CLI owns shutdown (emulators, stores and the HTTP server stop in order); Apollo must not re-raise the signal.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    // No "Did you mean …?" listing of field names where the schema is not public.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    includeStacktraceInErrorResponses: development,
    formatError: (formatted, error) => {
      const answer = formatGraphQLError(formatted, error, { development });
      if (isInternalError(answer)) {
        const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
        // Where it broke, without the message: a message may quote the data it choked on.
        logger.error(
          {
            path: formatted.path,
            errorType: original instanceof Error ? original.name : typeof original,
            frames:
              original instanceof Error
                ? original.stack
                    ?.split('\n')
                    .slice(1, 6)
                    .map((l) => l.trim())
                : [],
          },
          'unexpected error in a resolver',
        );
      }
      return answer;
    },
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) },
      // Routers ask subgraphs for ftv1 traces (field timings for GraphOS); error details stay masked in them.
      ApolloServerPluginInlineTrace({ includeErrors: { masked: true } }),
      metricsPlugin(metrics),
      ...(tracing ? [tracingPlugin<GraphContext>()] : []),
      // No cache hints are set anywhere; the default plugin would still visit every resolved field (profiled).
      ApolloServerPluginCacheControlDisabled(),
      explorerMode
        ? explorerLandingPage<GraphContext>({ mode: explorerMode })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  // Every request gets an id: returned to the caller, on its log line, and forwarded upstream.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.get(REQUEST_ID_HEADER));
    res.locals.requestId = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const started = performance.now();
    // Read now: mounted routers rewrite req.path by the time the response finishes.
    const path = req.path;
    res.on('finish', () => {
      const operation = operationNameOf(req);
      logger.info(
        {
          requestId,
          method: req.method,
          path,
          ...(operation ? { operation } : {}),
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  });

  // With ADMIN_PORT, health and metrics live on a port of their own (not exposed to callers); the public
  // port then serves GraphQL and webhooks only.
  const admin = config.adminPort === null ? app : express();
  if (admin !== app) admin.disable('x-powered-by');
  admin.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // /readyz answers at once from the last upstream probe; a probe older than config.readinessProbeMs starts a
  // new one in the background, so a slow upstream slows the probe, never the answer.
  let upstreamReadiness: { at: number; upstreams: unknown[]; ok: boolean } | null = null;
  let probing: Promise<void> | null = null;
  const probeUpstreams = (): Promise<void> =>
    (probing ??= (async () => {
      try {
        const checks = await context({ enabled: false, principal: null }).health();
        const breakers = Object.fromEntries(
          Object.values(upstreams.http).map((h) => [h.upstream, h.breakerState]),
        );
        upstreamReadiness = {
          at: Date.now(),
          ok: checks.every((c) => c.status === 'UP'),
          upstreams: checks.map((c) => ({ ...c, breaker: breakers[c.upstream] })),
        };
      } catch (error) {
        logger.warn(
          { errorType: error instanceof Error ? error.name : typeof error },
          'readiness probe failed',
        );
      } finally {
        probing = null;
      }
    })());
  admin.get('/readyz', async (_req, res) => {
    if (!upstreamReadiness || Date.now() - upstreamReadiness.at >= config.readinessProbeMs) {
      const probe = probeUpstreams();
      // Only the very first answer waits for a probe, and not for long.
      if (!upstreamReadiness)
        await Promise.race([probe, sleep(READINESS_FIRST_WAIT_MS, undefined, { ref: false })]);
    }
    // As of the last command or probe (health() sends a PING when none is out); DOWN says why in `error`.
    const store = stores.health();
    const last = upstreamReadiness;
    const auth = authenticator?.health() ?? { status: 'NOT_USED', keys: 0, lastRefreshAt: null, error: null };
    // Unready only while no key is known: known keys keep working while the JWKS is down, and replicas
    // sharing one identity provider must not all leave the load balancer together.
    const authReady = auth.status !== 'DOWN' || auth.keys > 0;
    // Not ready until the index has data and this run has synced it (or tried): a replica serving an
    // empty index, or one of another fleet, must not take traffic.
    const index = fleetIndex ? indexReadiness(fleetIndex.sync.status()) : { status: 'OFF' as const };
    const indexReady = !fleetIndex || fleetIndex.sync.status().ready;
    const ok = last !== null && last.ok && store.status === 'UP' && authReady && indexReady;
    res.status(ok ? 200 : 503).json({
      status: last === null ? 'starting' : ok ? 'ready' : indexReady ? 'degraded' : 'syncing',
      ...(last
        ? { probedAt: new Date(last.at).toISOString(), upstreams: last.upstreams }
        : { upstreams: [] }),
      store,
      auth,
      fleetIndex: index,
    });
  });
  admin.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.use(webhookRouter(verifier, jobs, logger));
  if (explorerBundle) app.use(EXPLORER_ASSETS_PATH, explorerAssets(explorerBundle, logger));

  /** Limits are checked on the parsed document before Apollo validates or executes it. */
  const limits = (req: Request, res: Response, next: NextFunction): void => {
    const source =
      req.method === 'GET' ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
    if (typeof source !== 'string') return next();
    const rawVariables =
      req.method === 'GET' ? req.query.variables : (req.body as { variables?: unknown }).variables;
    let variables: Record<string, unknown> | undefined;
    try {
      variables =
        typeof rawVariables === 'string'
          ? (JSON.parse(rawVariables) as Record<string, unknown>)
          : (rawVariables as Record<string, unknown> | undefined);
    } catch {
      return next(); // Apollo answers malformed variables itself
    }
    try {
      queryLimiter.check(source, variables ?? undefined);
      next();
    } catch (error) {
      if (!(error instanceof QueryLimitError)) return next(); // syntax errors: Apollo answers them as usual
      logger.warn(
        { limit: error.extensions.limit, max: error.extensions.max, actual: error.extensions.actual },
        'query refused by limits',
      );
      const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
      res.status(400).json({ errors: [{ message: error.message, extensions }] });
    }
  };
  app.use(
    '/graphql',
    // Preflights are answered here, before any operation work (and outside its span).
    ...corsMiddleware(config.cors),
    // First of the operation's steps, so refused requests are traced too; everything after runs inside its span.
    ...(tracing ? [tracing.middleware] : []),
    express.json({ limit: config.limits.maxRequestBytes }),
    // Before the limits: a hash-only request gets its document here, and the limits then check that document.
    persistedDocumentsMiddleware(persistedDocuments, {
      routerSecret: config.persistedDocuments.routerSecret,
      mayRoute: async (authorization) => {
        if (!authenticator) return true;
        try {
          // null = no Authorization header: an anonymous caller is not a router.
          return (await authenticator.authenticate(authorization)) !== null;
        } catch {
          return false;
        }
      },
      onRefused: (reason) => logger.warn(reason, 'document refused: not in the trusted-documents manifest'),
    }),
    limits,
    expressMiddleware(apollo, {
      context: async ({ req, res }: { req: IncomingMessage; res: Response }) => {
        // Aborted when the caller leaves before the answer: its queued and in-flight upstream calls stop.
        const caller = new AbortController();
        res.once('close', () => {
          if (!res.writableFinished) caller.abort();
        });
        return context(
          await callerAuth(req.headers.authorization),
          res.locals.requestId as string,
          caller.signal,
        );
      },
    }),
  );
  app.use(httpErrorHandler(logger));

  // Jobs whose callback is overdue are settled by polling KDMS; the same tick retries the KWN
  // subscription until it is in place.
  let subscribedTo: string | null = null;
  let callbackUrl: string | null = config.jobs.webhookPublicUrl;
  const ensureSubscription = async (): Promise<void> => {
    if (!callbackUrl || subscribedTo === callbackUrl) return;
    try {
      const outcome = await jobs.ensureSubscription(callbackUrl);
      subscribedTo = callbackUrl;
      logger.info(
        { callbackUrl, outcome },
        'Knox Webhook Notification: KDMS_DEVICE_UPLOAD and KDMS_DEVICE_DELETE call Fleetgraph',
      );
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'Knox Webhook Notification subscription not set up yet; retrying',
      );
    }
  };
  let ticking = false;
  const poller = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void (async () => {
      await ensureSubscription();
      const recorded = await jobs.recordUnsaved();
      if (recorded) logger.info({ recorded }, 'recorded jobs KDMS accepted while the store was away');
      const settled = await jobs.settleOverdue(config.jobs.webhookTimeoutMs);
      if (settled) logger.info({ settled }, 'settled overdue jobs by polling KDMS');
    })()
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        // A store outage is logged once by the Redis connection; every tick need not repeat it.
        if (error instanceof SharedStoreError)
          logger.debug({ err: message }, 'job polling waits for the store');
        else logger.error({ err: message }, 'job polling failed');
      })
      .finally(() => {
        ticking = false;
      });
  }, config.jobs.pollIntervalMs);
  poller.unref();

  const adminServer = admin === app ? null : createServer(admin);
  return {
    httpServer,
    adminServer,
    upstreams,
    jobs,
    metrics,
    stores,
    async listen(port, host = config.host) {
      await listenOn(httpServer, port, host, 'PORT');
      if (adminServer && config.adminPort !== null)
        await listenOn(adminServer, config.adminPort, host, 'ADMIN_PORT');
      const { port: actual } = httpServer.address() as AddressInfo;
      // Embedded mode: KDMS (the emulator) calls this very server back.
      callbackUrl ??= `http://127.0.0.1:${actual}${WEBHOOK_PATH}`;
      await ensureSubscription();
      return `http://localhost:${actual}/graphql`;
    },
    async stop() {
      clearInterval(poller);
      await apollo.stop();
      await tracing?.shutdown();
      await fleetIndex?.close();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      if (adminServer?.listening) {
        adminServer.closeAllConnections();
        await new Promise<void>((resolve) => adminServer.close(() => resolve()));
      }
      await stores.close();
    },
  };
}
