import { GraphQLClient } from 'graphql-request';
import { loadConfig } from '../../src/config/config.js';
import type { FleetgraphConfig } from '../../src/config/config.js';
import type { RunningEmulators, StartEmulatorsOptions } from '../../src/emulators/start-emulators.js';
import { emulatorUpstreams } from '../../src/server/embedded-upstreams.js';
import type { Logger } from '../../src/observability/logger.js';
import { getSdk } from '../../src/generated/fleetgraph-sdk.js';
import type { Sdk } from '../../src/generated/fleetgraph-sdk.js';
import { startFleetgraph } from '../../src/server/start-fleetgraph.js';
import type { RunningFleetgraph } from '../../src/server/start-fleetgraph.js';

/**
 * The real server in embedded mode on free ports, with the read cache and the fleet index off so call
 * counts are those of one query's live plan (unless `env` turns them on), and the generated SDK as the client.
 */
export interface TestGraph {
  fleetgraph: RunningFleetgraph;
  /** The emulators behind this graph (its own, or the shared ones). */
  emulators: RunningEmulators;
  url: string;
  sdk: Sdk;
  client: GraphQLClient;
  /** Raw POST /graphql, for errors and partial data the SDK would throw on. */
  post(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: GraphQLBody }>;
  /** Non-token API calls each emulator served since the last reset. */
  upstreamCalls(): { kdms: number; knoxManage: number; box: number };
  /** Every emulator's counters, by endpoint. */
  upstreamCallsByEndpoint(): ReturnType<NonNullable<RunningFleetgraph['emulators']>['requestCounts']>;
  resetCalls(): void;
  stop(): Promise<void>;
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface TestGraphOptions {
  env?: Record<string, string>;
  config?: Partial<FleetgraphConfig>;
  /** Embedded mode: how the graph starts its own emulators. */
  emulators?: StartEmulatorsOptions;
  /** Use these running emulators instead (e.g. to restart the graph while they keep their state). */
  sharedEmulators?: RunningEmulators;
  logger?: Logger;
}

/** The largest KDMS_ASYNC_DELAY_MS the configuration takes. */
const KDMS_ASYNC_DELAY_MAX_MS = 3_600_000;

export async function startTestGraph(options: TestGraphOptions = {}): Promise<TestGraph> {
  const loaded = loadConfig({
    NODE_ENV: 'test',
    READ_CACHE_TTL_MS: '0',
    JOB_STORE_FILE: 'memory',
    // Live plans, so call counts are those of one query; the fleet index suites turn it on.
    FLEET_INDEX: 'off',
    // The graph's wait for a KDMS callback (WEBHOOK_TIMEOUT_MS, embedded default 5 × KDMS_ASYNC_DELAY_MS)
    // follows the KDMS it is given. Suites that hold uploads pending (an hour) and settle them themselves
    // would otherwise have the poller settle them after 10 s from a KDMS that holds none of the devices yet
    // (every one NOT_REGISTERED, the job FAILED) whenever a loaded machine stretches a test past 10 s.
    ...(options.sharedEmulators
      ? {
          KDMS_ASYNC_DELAY_MS: String(
            Math.min(options.sharedEmulators.kdms.asyncSettings.asyncDelayMs, KDMS_ASYNC_DELAY_MAX_MS),
          ),
        }
      : {}),
    ...options.env,
  });
  const config: FleetgraphConfig = {
    ...loaded,
    port: 0,
    host: '127.0.0.1',
    // Shared emulators are reached like real upstreams; KDMS calls this graph back at its own address.
    ...(options.sharedEmulators && !loaded.upstreams
      ? { upstreams: emulatorUpstreams(options.sharedEmulators) }
      : {}),
    ...options.config,
  };
  const fleetgraph = await startFleetgraph({
    config,
    ...(options.logger ? { logger: options.logger } : {}),
    emulators: {
      ports: { kdms: 0, knoxManage: 0, box: 0 },
      fleet: { size: 1000, seed: 'graph-tests' },
      ...options.emulators,
      kdms: {
        ...options.emulators?.kdms,
        async: { asyncDelayMs: 50, webhookRetryDelayMs: 20, ...options.emulators?.kdms?.async },
      },
    },
  });
  const client = new GraphQLClient(fleetgraph.url);
  const emulators = options.sharedEmulators ?? fleetgraph.emulators!;
  const apiCalls = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([endpoint]) => !endpoint.includes('/oauth'))
      .reduce((sum, [, n]) => sum + n, 0);
  return {
    fleetgraph,
    emulators,
    url: fleetgraph.url,
    sdk: getSdk(client),
    client,
    async post(query, variables, headers = {}) {
      const response = await fetch(fleetgraph.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as GraphQLBody };
    },
    upstreamCalls() {
      const counts = emulators.requestCounts();
      return {
        kdms: apiCalls(counts.kdms),
        knoxManage: apiCalls(counts.knoxManage),
        box: apiCalls(counts.box),
      };
    },
    upstreamCallsByEndpoint: () => emulators.requestCounts(),
    resetCalls: () => emulators.resetCounts(),
    stop: () => fleetgraph.stop(),
  };
}
