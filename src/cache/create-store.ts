import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import KeyvRedis from '@keyv/redis';
import { Keyv } from 'keyv';
import { KeyvFile } from 'keyv-file';
import type { Logger } from '../observability/logger.js';
import { createLocalBroadcast, createRedisBroadcast } from './broadcast.js';
import type { Broadcast } from './broadcast.js';
import { createLocalLocks, createRedisLocks } from './locks.js';
import type { Locks } from './locks.js';
import { connectRedis } from './redis-connection.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * Everything Fleetgraph keeps between requests, by purpose: keyv stores (tokens, read cache, upload
 * jobs), locks and broadcasts. One process alone keeps them in memory (jobs in a file, so a restart
 * keeps them); with `CACHE_URL` every one of them lives in Redis, so any number of replicas share
 * tokens, cached reads, jobs and job events.
 */
export type StorePurpose = 'tokens' | 'reads' | 'jobs';

export interface StoreHealth {
  backend: 'memory' | 'redis';
  /** `redis://host:port` without credentials. */
  target?: string;
  status: 'UP' | 'DOWN';
}

export interface StoreFactory {
  backend: 'memory' | 'redis';
  /**
   * A keyv store for one purpose. On Redis its operations throw when Redis is unreachable (callers
   * decide: the read cache and tokens fall back, jobs refuse with STORE_UNAVAILABLE).
   */
  create(purpose: StorePurpose): Keyv;
  locks: Locks;
  broadcast<T>(channel: string): Promise<Broadcast<T>>;
  health(): StoreHealth;
  /** Flushes and closes every store it made (file writes are delayed a few ms). */
  close(): Promise<void>;
}

export interface StoreFactoryOptions {
  /** Upload jobs persist here; null keeps them in memory (tests that do not restart). */
  jobsFile: string | null;
}

export function createStoreFactory(options: StoreFactoryOptions = { jobsFile: null }): StoreFactory {
  const made: Keyv[] = [];
  return {
    backend: 'memory',
    create(purpose) {
      let store: Keyv;
      if (purpose === 'jobs' && options.jobsFile) {
        mkdirSync(dirname(options.jobsFile), { recursive: true });
        // writeDelay batches bursts of job updates into one write; `await set` waits for it.
        store = new Keyv({
          store: new KeyvFile({ filename: options.jobsFile, writeDelay: 20, expiredCheckDelay: 60 * 60_000 }),
          namespace: `fleetgraph:${purpose}`,
        });
      } else {
        store = new Keyv({ namespace: `fleetgraph:${purpose}` });
      }
      made.push(store);
      return store;
    },
    locks: createLocalLocks(),
    broadcast: async <T>() => createLocalBroadcast<T>(),
    health: () => ({ backend: 'memory', status: 'UP' }),
    async close() {
      await Promise.all(made.map((s) => s.disconnect()));
    },
  };
}

export interface RedisStoreFactoryOptions {
  logger: Logger;
  connectTimeoutMs?: number;
}

/** Stores on the Redis at `url`; fails at once, saying so, when Redis cannot be reached at start. */
export async function createRedisStoreFactory(
  url: string,
  { logger, connectTimeoutMs }: RedisStoreFactoryOptions,
): Promise<StoreFactory> {
  const connection: RedisConnection = await connectRedis(url, {
    logger,
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
  });
  return {
    backend: 'redis',
    create(purpose) {
      const namespace = `fleetgraph:${purpose}`;
      const adapter = new KeyvRedis(connection.client, {
        namespace,
        throwOnErrors: true,
        throwOnConnectError: true,
      });
      // The adapter prefixes keys itself; keyv must not prefix them again.
      return new Keyv(adapter, { namespace, useKeyPrefix: false, throwOnErrors: true });
    },
    locks: createRedisLocks(connection.client),
    broadcast: <T>(channel: string) => createRedisBroadcast<T>(connection, channel, logger),
    health: () => ({ backend: 'redis', target: connection.target, status: connection.ready ? 'UP' : 'DOWN' }),
    close: () => connection.close(),
  };
}
