import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedStoreError, storeUnreachable } from './errors.js';
import type { RedisClient } from './redis-connection.js';

/**
 * Mutual exclusion by name. In memory it spans this process; on Redis it spans every replica on the
 * same `CACHE_URL` (SET NX PX with an owner token, released only by its owner), so two replicas never
 * refresh the same upstream token or change the same upload job at once.
 */
export interface LockOptions {
  /** A holder that dies keeps the lock at most this long. Longer than the task may take. */
  ttlMs: number;
  /** Give up (SharedStoreError 'lock-timeout') after waiting this long. */
  waitMs: number;
}

export interface Locks {
  withLock<T>(name: string, task: () => Promise<T>, options: LockOptions): Promise<T>;
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
  };
}

// Deletes the lock only if we still own it: after a TTL expiry another replica may hold it.
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export function createRedisLocks(client: RedisClient, prefix = 'fleetgraph:lock:'): Locks {
  // Waiters in this process queue locally, so only one of them polls Redis at a time.
  const local = createLocalLocks();
  return {
    withLock(name, task, { ttlMs, waitMs }) {
      return local.withLock(
        name,
        async () => {
          const key = prefix + name;
          const owner = randomUUID();
          const deadline = Date.now() + waitMs;
          for (let attempt = 0; ; attempt++) {
            let acquired: string | null;
            try {
              acquired = await client.set(key, owner, {
                condition: 'NX',
                expiration: { type: 'PX', value: ttlMs },
              });
            } catch (error) {
              throw storeUnreachable(`could not take the lock "${name}"`, error);
            }
            if (acquired === 'OK') break;
            if (Date.now() >= deadline)
              throw new SharedStoreError(
                'lock-timeout',
                `Another Fleetgraph replica has held the lock "${name}" for more than ${waitMs} ms`,
                { lock: name },
              );
            await sleep(Math.min(10 * 2 ** attempt, 200));
          }
          try {
            return await task();
          } finally {
            // A failed release only delays the next holder until the TTL ends.
            await client.eval(RELEASE_SCRIPT, { keys: [key], arguments: [owner] }).catch(() => undefined);
          }
        },
        { ttlMs, waitMs },
      );
    },
  };
}
