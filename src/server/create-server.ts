import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { StoreFactory } from '../cache/create-store.js';
import type { FleetgraphConfig, UpstreamsConfig } from '../config/config.js';
import { createLocalJobEvents } from '../jobs/job-events.js';
import { UploadJobStore } from '../jobs/upload-job.store.js';
import { UploadJobService } from '../jobs/upload-jobs.js';
import { WebhookVerifier } from '../jobs/webhook-verifier.js';
import type { GraphContext } from '../schema/context.js';
import { formatGraphQLError } from '../schema/errors.js';
import { createContext } from './create-context.js';
import { createUpstreams } from './create-upstreams.js';
import type { Upstreams } from './create-upstreams.js';
import { WEBHOOK_PATH, webhookRouter } from './webhook-route.js';

/**
 * Builds the HTTP server (Express + Apollo Server) without listening, so tests run the real server
 * in-process and the CLI and benchmark run it as a process.
 */
export interface CreateServerOptions {
  config: FleetgraphConfig;
  upstreams: UpstreamsConfig;
  schema: GraphQLSchema;
  stores: StoreFactory;
  /** Operational messages (webhooks, polling, subscription setup). */
  log?: (line: string) => void;
}

export const WEBHOOK_MAX_HEADER_BYTES = 4 * 1024 * 1024;

export interface FleetgraphServer {
  httpServer: Server;
  upstreams: Upstreams;
  jobs: UploadJobService;
  /** Starts listening; resolves with the GraphQL endpoint URL. */
  listen(port: number, host?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function createFleetgraphServer({
  config,
  upstreams: upstreamsConfig,
  schema,
  stores,
  log = () => undefined,
}: CreateServerOptions): Promise<FleetgraphServer> {
  const development = config.nodeEnv !== 'production';
  const upstreams = createUpstreams({
    config: upstreamsConfig,
    stores,
    readCacheTtlMs: config.readCacheTtlMs,
    timeoutMs: config.upstreamTimeoutMs,
  });
  const jobs = new UploadJobService(
    upstreams.kdms,
    new UploadJobStore(stores.create('jobs')),
    createLocalJobEvents(),
  );
  const verifier = new WebhookVerifier(() => upstreams.kdms.downloadCertificate());
  const context = () => createContext({ upstreams, jobs, batching: config.batching });
  const app = express();
  app.disable('x-powered-by');
  // KWN callbacks carry a compact JWS whose payload is the whole body in a header: a 10,000-device
  // result is about 1 MB of header. Node's 16 KB default would answer 431 to every large callback.
  const httpServer = createServer({ maxHeaderSize: WEBHOOK_MAX_HEADER_BYTES }, app);
  // Subscriptions (graphql-ws) share the /graphql path with queries, as Apollo Sandbox expects.
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsCleanup = useServer({ schema, context }, wsServer);
  const apollo = new ApolloServer<GraphContext>({
    schema,
    introspection: development,
    allowBatchedHttpRequests: false,
    // The CLI owns shutdown (emulators, stores and the HTTP server stop in order); Apollo must not re-raise the signal.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: development,
    formatError: (formatted, error) => formatGraphQLError(formatted, error, { development }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) },
      // Routers ask subgraphs for ftv1 traces (field timings for GraphOS); error details stay masked in them.
      ApolloServerPluginInlineTrace({ includeErrors: { masked: true } }),
      development
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(webhookRouter(verifier, jobs, log));
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, { context: async () => context() }),
  );

  // Jobs whose callback is overdue are settled by polling KDMS; the same tick retries the KWN
  // subscription until it is in place.
  let subscribedTo: string | null = null;
  let callbackUrl: string | null = config.jobs.webhookPublicUrl;
  const ensureSubscription = async (): Promise<void> => {
    if (!callbackUrl || subscribedTo === callbackUrl) return;
    try {
      const outcome = await jobs.ensureSubscription(callbackUrl);
      subscribedTo = callbackUrl;
      log(
        `Knox Webhook Notification: KDMS_DEVICE_UPLOAD and KDMS_DEVICE_DELETE call ${callbackUrl} (${outcome})`,
      );
    } catch (error) {
      log(
        `Knox Webhook Notification subscription not set up yet (${error instanceof Error ? error.message : String(error)}); retrying`,
      );
    }
  };
  let ticking = false;
  const poller = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void (async () => {
      await ensureSubscription();
      const settled = await jobs.settleOverdue(config.jobs.webhookTimeoutMs);
      if (settled) log(`settled ${settled} overdue job(s) by polling KDMS`);
    })()
      .catch((error: unknown) =>
        log(`job polling failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        ticking = false;
      });
  }, config.jobs.pollIntervalMs);
  poller.unref();

  return {
    httpServer,
    upstreams,
    jobs,
    async listen(port, host = config.host) {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const { port: actual } = httpServer.address() as AddressInfo;
      // Embedded mode: KDMS (the emulator) calls this very server back.
      callbackUrl ??= `http://127.0.0.1:${actual}${WEBHOOK_PATH}`;
      await ensureSubscription();
      return `http://localhost:${actual}/graphql`;
    },
    async stop() {
      clearInterval(poller);
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await stores.close();
    },
  };
}
