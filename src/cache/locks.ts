import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedStoreError, storeUnreachable } from './errors.js';
import type { RedisClient } from './redis-connection.js';

/**
 * Mutual exclusion by name. In memory it spans this process; on Redis it spans every replica on the
 * same `CACHE_URL`, so two replicas never refresh the same upstream token or change the same upload
 * job at once.
 *
 * On Redis a lock is a lease: `SET NX PX <lease>` with an owner token, renewed every third of the lease
 * while its task runs and released only by its owner. A holder that dies (`kill -9`, a lost host) stops
 * renewing, so its lock is free a lease later — seconds — instead of after the longest a task could take.
 */
export interface LockOptions {
  /** Give up (SharedStoreError 'lock-timeout') after waiting this long. */
  waitMs: number;
  /** How long a holder that dies keeps the lock; renewed while the task runs. Default DEFAULT_LEASE_MS. */
  leaseMs?: number;
  /** @deprecated A lease renewed while held needs no long TTL: read as an upper bound of `leaseMs`. */
  ttlMs?: number;
}

export interface Locks {
  withLock<T>(name: string, task: () => Promise<T>, options: LockOptions): Promise<T>;
  /** Whether some task (on any replica sharing the locks) holds `name` now. */
  isHeld(name: string): Promise<boolean>;
}

/** Renewals every ~1.7 s; a dead holder's lock outlives it by at most this. */
export const DEFAULT_LEASE_MS = 5_000;

export function leaseOf(options: LockOptions): number {
  return Math.min(options.leaseMs ?? DEFAULT_LEASE_MS, options.ttlMs ?? Number.POSITIVE_INFINITY);
}

/** One task per name at a time in this process, in arrival order. */
export function createLocalLocks(): Locks {
  const tails = new Map<string, Promise<unknown>>();
  return {
    withLock(name, task) {
      const previous = tails.get(name) ?? Promise.resolve();
      const next = previous.then(task, task);
      const settled = next.catch(() => undefined);
      tails.set(name, settled);
      void settled.then(() => {
        if (tails.get(name) === settled) tails.delete(name);
      });
      return next;
    },
    isHeld: async (name) => tails.has(name),
  };
}

// Deletes the lock only if we still own it: after a lease expiry another replica may hold it.
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
// Extends the lease only if we still own it.
const RENEW_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export function createRedisLocks(client: RedisClient, prefix = 'fleetgraph:lock:'): Locks {
  // Waiters in this process queue locally, so only one of them polls Redis at a time.
  const local = createLocalLocks();
  return {
    withLock(name, task, options) {
      const leaseMs = leaseOf(options);
      return local.withLock(
        name,
        async () => {
          const key = prefix + name;
          const owner = randomUUID();
          const deadline = Date.now() + options.waitMs;
          for (let attempt = 0; ; attempt++) {
            let acquired: string | null;
            try {
              acquired = await client.set(key, owner, {
                condition: 'NX',
                expiration: { type: 'PX', value: leaseMs },
              });
            } catch (error) {
              throw storeUnreachable(`could not take the lock "${name}"`, error);
            }
            if (acquired === 'OK') break;
            if (Date.now() >= deadline)
              throw new SharedStoreError(
                'lock-timeout',
                `Another Fleetgraph replica has held the lock "${name}" for more than ${options.waitMs} ms`,
                { lock: name },
              );
            await sleep(Math.min(10 * 2 ** attempt, 200));
          }
          // A renewal that fails (Redis away a moment) is retried at the next tick; the lease covers two.
          const renewal = setInterval(
            () => {
              client
                .eval(RENEW_SCRIPT, { keys: [key], arguments: [owner, String(leaseMs)] })
                .catch(() => undefined);
            },
            Math.max(1, Math.floor(leaseMs / 3)),
          );
          renewal.unref();
          try {
            return await task();
          } finally {
            clearInterval(renewal);
            // A failed release only delays the next holder until the lease ends.
            await client.eval(RELEASE_SCRIPT, { keys: [key], arguments: [owner] }).catch(() => undefined);
          }
        },
        options,
      );
    },
    async isHeld(name) {
      if (await local.isHeld(name)) return true;
      try {
        return (await client.exists(prefix + name)) === 1;
      } catch (error) {
        throw storeUnreachable(`could not read the lock "${name}"`, error);
      }
    },
  };
}
