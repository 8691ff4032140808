import { Keyv } from 'keyv';
import type { Logger } from '../observability/logger.js';
import { createLocalBroadcast, createRedisBroadcast } from './broadcast.js';
import type { Broadcast } from './broadcast.js';
import { KeyvJobRecords } from './job-records.js';
import type { JobRecords } from './job-records.js';
import { createLocalLocks, createRedisLocks } from './locks.js';
import type { Locks } from './locks.js';
import { connectRedis } from './redis-connection.js';
import type { RedisConnection } from './redis-connection.js';
import { openSqliteJobRecords } from './sqlite-job-records.js';

/**
 * Everything Fleetgraph keeps between requests, by purpose: keyv stores (tokens, read cache), the
 * upload-job records, locks and broadcasts. One process alone keeps tokens and reads in memory and jobs
 * in SQLite (a file, so a restart or a crash keeps them); with `CACHE_URL` every one of them lives in
 * Redis, so any number of replicas share tokens, cached reads, jobs and job events.
 */
export type StorePurpose = 'tokens' | 'reads' | 'jobs';
/** What each purpose gets: keyv for the caches, job records (with lookups and lists) for jobs. */
export interface StoreKinds {
  tokens: Keyv;
  reads: Keyv;
  jobs: JobRecords;
}

export interface StoreHealth {
  backend: 'memory' | 'redis';
  /** `redis://host:port` without credentials. */
  target?: string;
  status: 'UP' | 'DOWN';
  /** Why it is DOWN: not connected, not answering within the deadline, or the password refused. */
  error?: string;
}

export interface StoreFactory {
  backend: 'memory' | 'redis';
  /**
   * The store for one purpose. On Redis its operations throw when Redis is unreachable (callers
   * decide: the read cache and tokens fall back, jobs refuse with STORE_UNAVAILABLE).
   */
  create<P extends StorePurpose>(purpose: P): StoreKinds[P];
  locks: Locks;
  broadcast<T>(channel: string): Promise<Broadcast<T>>;
  health(): StoreHealth;
  /** Closes every store it made. */
  close(): Promise<void>;
}

export interface StoreFactoryOptions {
  /** Upload jobs persist in this SQLite file; null keeps them in memory (tests that do not restart). */
  jobsFile: string | null;
}

/**
 * Stores of one process. The job store is opened here, at once: a store file that cannot be trusted
 * stops start-up (JobStoreUnreadableError) before anything else runs.
 */
export function createStoreFactory(options: StoreFactoryOptions = { jobsFile: null }): StoreFactory {
  const jobs = openSqliteJobRecords(options.jobsFile);
  const made: Keyv[] = [];
  const stores = {
    tokens: () => keep(new Keyv({ namespace: 'fleetgraph:tokens' })),
    reads: () => keep(new Keyv({ namespace: 'fleetgraph:reads' })),
    jobs: () => jobs,
  };
  const keep = (store: Keyv): Keyv => {
    made.push(store);
    return store;
  };
  return {
    backend: 'memory',
    create: <P extends StorePurpose>(purpose: P) => stores[purpose]() as StoreKinds[P],
    locks: createLocalLocks(),
    broadcast: async <T>() => createLocalBroadcast<T>(),
    health: () => ({ backend: 'memory', status: 'UP' }),
    async close() {
      await Promise.all(made.map((s) => s.disconnect()));
      await jobs.close();
    },
  };
}

export interface RedisStoreFactoryOptions {
  logger: Logger;
  connectTimeoutMs?: number;
  /** Every Redis command's deadline (default COMMAND_DEADLINE_MS). */
  commandDeadlineMs?: number;
}

/** Stores on the Redis at `url`; fails at once, saying so, when Redis cannot be reached at start. */
export async function createRedisStoreFactory(
  url: string,
  { logger, connectTimeoutMs, commandDeadlineMs }: RedisStoreFactoryOptions,
): Promise<StoreFactory> {
  const connection: RedisConnection = await connectRedis(url, {
    logger,
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
    ...(commandDeadlineMs ? { commandDeadlineMs } : {}),
  });
  const locks = createRedisLocks(connection.client);
  // Loaded here only: without CACHE_URL the Redis adapter is never needed.
  const { default: KeyvRedis } = await import('@keyv/redis');
  const keyv = (purpose: StorePurpose): Keyv => {
    const namespace = `fleetgraph:${purpose}`;
    const adapter = new KeyvRedis(connection.client, {
      namespace,
      throwOnErrors: true,
      throwOnConnectError: true,
    });
    // The adapter prefixes keys itself; keyv must not prefix them again.
    return new Keyv(adapter, { namespace, useKeyPrefix: false, throwOnErrors: true });
  };
  const stores = {
    tokens: () => keyv('tokens'),
    reads: () => keyv('reads'),
    // Same keys as before job records existed (fleetgraph:jobs:job:<id>, …), so stored jobs carry over.
    jobs: () => new KeyvJobRecords(keyv('jobs'), locks),
  };
  return {
    backend: 'redis',
    create: <P extends StorePurpose>(purpose: P) => stores[purpose]() as StoreKinds[P],
    locks,
    broadcast: <T>(channel: string) => createRedisBroadcast<T>(connection, channel, logger),
    health() {
      // Current as of the last command or probe; the probe keeps it so when no request runs.
      connection.probe();
      const problem = connection.problem;
      return problem === null
        ? { backend: 'redis', target: connection.target, status: 'UP' }
        : { backend: 'redis', target: connection.target, status: 'DOWN', error: problem };
    },
    close: () => connection.close(),
  };
}
