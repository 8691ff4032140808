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
import type { StoreFactory } from '../cache/create-store.js';
import type { FleetgraphConfig, UpstreamsConfig } from '../config/config.js';
import { UploadJobStore } from '../jobs/upload-job.store.js';
import type { GraphContext } from '../schema/context.js';
import { formatGraphQLError } from '../schema/errors.js';
import { createContext } from './create-context.js';
import { createUpstreams } from './create-upstreams.js';
import type { Upstreams } from './create-upstreams.js';

/**
 * Builds the HTTP server (Express + Apollo Server) without listening, so tests run the real server
 * in-process and the CLI and benchmark run it as a process.
 */
export interface CreateServerOptions {
  config: FleetgraphConfig;
  upstreams: UpstreamsConfig;
  schema: GraphQLSchema;
  stores: StoreFactory;
}

export interface FleetgraphServer {
  httpServer: Server;
  upstreams: Upstreams;
  /** Starts listening; resolves with the GraphQL endpoint URL. */
  listen(port: number, host?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function createFleetgraphServer({
  config,
  upstreams: upstreamsConfig,
  schema,
  stores,
}: CreateServerOptions): Promise<FleetgraphServer> {
  const development = config.nodeEnv !== 'production';
  const upstreams = createUpstreams({
    config: upstreamsConfig,
    stores,
    readCacheTtlMs: config.readCacheTtlMs,
    timeoutMs: config.upstreamTimeoutMs,
  });
  const jobs = new UploadJobStore(stores.create('jobs'));
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
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
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async () => createContext({ upstreams, jobs, batching: config.batching }),
    }),
  );

  return {
    httpServer,
    upstreams,
    async listen(port, host = config.host) {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const { port: actual } = httpServer.address() as AddressInfo;
      return `http://localhost:${actual}/graphql`;
    },
    async stop() {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
