import 'reflect-metadata';
import { createRedisStoreFactory, createStoreFactory } from '../cache/create-store.js';
import type { StoreFactory } from '../cache/create-store.js';
import { RedisPasswordRefusedError } from '../cache/redis-connection.js';
import { ConfigError } from '../config/config.js';
import { silentLogger } from '../observability/logger.js';
import type { FleetgraphConfig } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { RunningEmulators, StartEmulatorsOptions } from '../emulators/start-emulators.js';
import { buildFleetgraphSchema } from '../schema/build-schema.js';
import { createFleetgraphServer } from './create-server.js';
import type { FleetgraphServer } from './create-server.js';
import { emulatorUpstreams, startEmbeddedEmulators } from './embedded-upstreams.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Fleetgraph as `npm start` runs it: with upstream URLs configured, the graph alone; without them,
 * the three emulators in-process first (embedded development mode).
 */
export interface StartFleetgraphOptions {
  config: FleetgraphConfig;
  /** Embedded mode only: how to start the emulators (ports, fleet, faults). */
  emulators?: StartEmulatorsOptions;
  logger?: Logger;
  /** Spans also go here (tests). */
  traceExporter?: SpanExporter;
}

export interface RunningFleetgraph {
  url: string;
  server: FleetgraphServer;
  emulators: RunningEmulators | null;
  stop(): Promise<void>;
}

export async function startFleetgraph({
  config,
  emulators: emulatorOptions,
  logger,
  traceExporter,
}: StartFleetgraphOptions): Promise<RunningFleetgraph> {
  let emulators: RunningEmulators | null = null;
  if (!config.upstreams) {
    const { fleetSize, fleetSeed, kdmsAsyncDelayMs } = config.embedded;
    emulators = await startEmbeddedEmulators({
      fleet: { size: fleetSize, seed: fleetSeed },
      ...emulatorOptions,
      kdms: {
        ...emulatorOptions?.kdms,
        async: { asyncDelayMs: kdmsAsyncDelayMs, ...emulatorOptions?.kdms?.async },
      },
    });
  }
  let stores: StoreFactory | null = null;
  try {
    stores = config.cache.url
      ? await createRedisStoreFactory(config.cache.url, {
          logger: logger ?? silentLogger(),
          connectTimeoutMs: config.cache.connectTimeoutMs,
        }).catch((error: unknown) => {
          // A setting to fix, not a crash: said as one, without a stack trace.
          throw error instanceof RedisPasswordRefusedError ? new ConfigError([error.message]) : error;
        })
      : createStoreFactory({ jobsFile: config.jobs.storeFile });
    const server = await createFleetgraphServer({
      config,
      upstreams: config.upstreams ?? emulatorUpstreams(emulators!),
      schema: await buildFleetgraphSchema(),
      stores,
      ...(logger ? { logger } : {}),
      ...(traceExporter ? { traceExporter } : {}),
    });
    const url = await server.listen(config.port);
    return {
      url,
      server,
      emulators,
      async stop() {
        await server.stop();
        await emulators?.stop();
      },
    };
  } catch (error) {
    await stores?.close();
    await emulators?.stop();
    throw error;
  }
}
