import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for a state another process reaches on its own (a Redis client reconnecting, a poller's tick).
 * The bound only keeps a broken build from hanging; it asserts nothing about speed.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  boundMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${boundMs / 1000} s`);
    await sleep(20);
  }
}
