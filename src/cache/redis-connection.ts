import { createClient } from '@keyv/redis';
import type { Logger } from '../observability/logger.js';

/** Reconnect quickly at first, then every 2 s at most, for as long as it takes. */
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** attempt, 2_000);

/** Redis answers in well under a millisecond; two seconds means it is not answering. */
const COMMAND_TIMEOUT_MS = 2_000;

export type RedisClient = ReturnType<typeof createRedisClient>;

function createRedisClient(url: string, connectTimeoutMs: number) {
  return createClient({
    url,
    disableOfflineQueue: true,
    // A Redis that stops answering without closing the connection (a partition) must not hang requests.
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectDelay },
  });
}

/**
 * The process's connections to the shared Redis (`CACHE_URL`): one for commands (every keyv store and
 * lock), one for pub/sub, because a Redis connection that subscribes can do nothing else.
 *
 * Commands fail at once while Redis is away (`disableOfflineQueue`) instead of queueing without bound,
 * and after 2 s when it stops answering, so a request gets a clear error rather than hanging; both
 * connections reconnect on their own and the subscriber re-subscribes.
 */
export interface RedisConnection {
  client: RedisClient;
  /** `redis://host:port/db` without credentials, for logs and /readyz. */
  target: string;
  /** True while the command connection is up. */
  readonly ready: boolean;
  /** The pub/sub connection, opened on first use. */
  subscriber(): Promise<RedisClient>;
  close(): Promise<void>;
}

export interface ConnectRedisOptions {
  logger: Logger;
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number;
}

export function redactRedisUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<RedisConnection> {
  const { logger, connectTimeoutMs = 5_000 } = options;
  const target = redactRedisUrl(url);
  const open = (role: 'commands' | 'pub/sub'): RedisClient => {
    const client = createRedisClient(url, connectTimeoutMs);
    // One warning per outage, not one per reconnect attempt.
    let down = false;
    client.on('error', (error: Error) => {
      if (down) return;
      down = true;
      logger.warn({ redis: target, role, err: error.message }, 'Redis unreachable; reconnecting');
    });
    client.on('ready', () => {
      if (!down) return;
      down = false;
      logger.info({ redis: target, role }, 'Redis reachable again');
    });
    return client;
  };

  const client = open('commands');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer from ${target} within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    client.destroy();
    throw new Error(
      `Cannot reach Redis at CACHE_URL (${target}): ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    clearTimeout(timer);
  }

  let subscriber: Promise<RedisClient> | null = null;
  return {
    client,
    target,
    get ready() {
      return client.isReady;
    },
    subscriber() {
      subscriber ??= (async () => {
        const sub = open('pub/sub');
        await sub.connect();
        return sub;
      })();
      return subscriber;
    },
    async close() {
      const sub = subscriber ? await subscriber.catch(() => null) : null;
      for (const c of [sub, client]) {
        if (!c?.isOpen) continue;
        // close() waits for pending replies, which never come while Redis is away.
        await (c.isReady ? c.close() : Promise.resolve(c.destroy()));
      }
    },
  };
}
