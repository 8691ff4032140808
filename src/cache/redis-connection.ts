// Loaded by connectRedis only: a replica without CACHE_URL never holds the Redis client (7 MB of RSS).
import type { createClient as CreateClient } from '@keyv/redis';
import type { Logger } from '../observability/logger.js';

/** Reconnect quickly at first, then every 2 s at most, for as long as it takes. */
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** attempt, 2_000);

/** Redis answers in well under a millisecond; two seconds means it is not answering. */
export const COMMAND_DEADLINE_MS = 2_000;

/** What Fleetgraph says when Redis turns the password (or its absence) down: start-up and /readyz. */
export const PASSWORD_REFUSED = 'Redis refused the password (check CACHE_URL)';

export type RedisClient = ReturnType<typeof createRedisClient>;

function createRedisClient(createClient: typeof CreateClient, url: string, connectTimeoutMs: number) {
  return createClient({
    url,
    disableOfflineQueue: true,
    // Not enough on its own: node-redis drops a command's timeout once the command is written to the
    // socket, so a Redis that stops answering (DEBUG SLEEP, SIGSTOP, a partition) would hang it. The
    // deadline that holds is Fleetgraph's own (RedisDeadline below); this one still covers the queue.
    commandOptions: { timeout: COMMAND_DEADLINE_MS },
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectDelay },
  });
}

/** Redis answered NOAUTH or WRONGPASS: the password in CACHE_URL is missing or wrong. */
export function isPasswordRefusal(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /^(NOAUTH|WRONGPASS)\b/.test(message);
}

/** A command that got no answer within the deadline, or was refused at once because Redis is stalled. */
export class RedisDeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisDeadlineError';
  }
}

/** Start-up refused: the message says what to fix, without the Redis reply's stack. */
export class RedisPasswordRefusedError extends Error {
  constructor(
    readonly target: string,
    reply: string,
  ) {
    super(`${PASSWORD_REFUSED}: ${target} answered "${reply}"`);
    this.name = 'RedisPasswordRefusedError';
  }
}

/**
 * Every command on one connection runs under a deadline Fleetgraph enforces itself. A command without
 * an answer by then fails (RedisDeadlineError) and marks the connection stalled; while it is stalled,
 * new commands fail at once instead of each waiting out its own deadline behind the stalled one (replies
 * come in order). The stall ends with the first reply of any kind (Redis is answering again) or a new
 * socket (`ready`).
 *
 * Process-wide: one per connection, for as long as the connection lives.
 */
export class RedisDeadline {
  /** Epoch ms at which the oldest unanswered command passed its deadline; null while Redis answers. */
  private stalledSince: number | null = null;
  /** Redis's NOAUTH / WRONGPASS reply, until a command succeeds. */
  private refusal: string | null = null;

  constructor(
    readonly target: string,
    private readonly deadlineMs: number = COMMAND_DEADLINE_MS,
  ) {}

  /** Why commands cannot work now, or null when they can (as far as this connection knows). */
  get problem(): string | null {
    if (this.refusal) return PASSWORD_REFUSED;
    if (this.stalledSince !== null)
      return `Redis has not answered a command within ${this.deadlineMs} ms (stalled)`;
    return null;
  }

  /** A new socket: whatever stalled the old one is gone with it. */
  reconnected(): void {
    this.stalledSince = null;
  }

  /** The handshake's AUTH was refused (a reconnect with a password Redis no longer takes). */
  refused(reply: string): void {
    this.refusal = reply;
  }

  run<T>(command: () => Promise<T>): Promise<T> {
    if (this.stalledSince !== null)
      return Promise.reject(
        new RedisDeadlineError(
          `Redis at ${this.target} has not answered for ${Date.now() - this.stalledSince + this.deadlineMs} ms`,
        ),
      );
    let reply: Promise<T>;
    try {
      reply = command();
    } catch (error) {
      return Promise.reject(error);
    }
    let timer: NodeJS.Timeout | undefined;
    const answered = reply.then(
      (value) => {
        this.refusal = null;
        this.stalledSince = null;
        return value;
      },
      (error: unknown) => {
        // An error reply is an answer too; a dropped socket ends the stall through `reconnected`.
        this.stalledSince = null;
        if (isPasswordRefusal(error)) this.refusal = error instanceof Error ? error.message : String(error);
        throw error;
      },
    );
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stalledSince ??= Date.now();
        reject(new RedisDeadlineError(`no answer from Redis at ${this.target} within ${this.deadlineMs} ms`));
      }, this.deadlineMs);
    });
    // The late reply (or error) of a command given up on is still awaited above, only not by the caller.
    answered.catch(() => undefined);
    return Promise.race([answered, expired]).finally(() => clearTimeout(timer));
  }
}

/** Client methods that manage the connection rather than send a command: never under the deadline. */
const NOT_COMMANDS = new Set([
  'connect',
  'close',
  'quit',
  'disconnect',
  'destroy',
  'duplicate',
  'on',
  'once',
  'off',
]);

/**
 * `client` with every command under `deadline`: anything callable that returns a promise (get, set,
 * eval, publish, …) and `multi().exec()`. The one client every store, lock and broadcast uses.
 */
function underDeadline(client: RedisClient, deadline: RedisDeadline): RedisClient {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property === 'symbol' || NOT_COMMANDS.has(property))
        return value;
      let fn = wrapped.get(property);
      if (!fn) {
        const original = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]) => {
          if (property === 'multi' || property === 'MULTI') {
            const chain = original.apply(target, args) as { exec: (...a: unknown[]) => Promise<unknown> };
            const exec = chain.exec.bind(chain);
            chain.exec = (...a: unknown[]) => deadline.run(() => exec(...a));
            return chain;
          }
          let result: unknown;
          return deadline.run(() => {
            result = original.apply(target, args);
            return result instanceof Promise ? result : Promise.resolve(result);
          });
        };
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}

/**
 * The process's connections to the shared Redis (`CACHE_URL`): one for commands (every keyv store and
 * lock), one for pub/sub, because a Redis connection that subscribes can do nothing else.
 *
 * Commands fail at once while Redis is away (`disableOfflineQueue`) instead of queueing without bound,
 * and within the deadline when it stops answering (RedisDeadline), so a request gets a clear error
 * rather than hanging; both connections reconnect on their own and the subscriber re-subscribes.
 */
export interface RedisConnection {
  /** Every command on it runs under Fleetgraph's deadline. */
  client: RedisClient;
  /** `redis://host:port/db` without credentials, for logs and /readyz. */
  target: string;
  /** True while the command connection is up and answering. */
  readonly ready: boolean;
  /** Why it is not ready (not connected, stalled, password refused); null while ready. */
  readonly problem: string | null;
  /** Sends a PING (under the deadline) unless one is out, so `ready` notices a stall without traffic. */
  probe(): void;
  /** The pub/sub connection, opened on first use. */
  subscriber(): Promise<RedisClient>;
  close(): Promise<void>;
}

export interface ConnectRedisOptions {
  logger: Logger;
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number;
  /** Every command's deadline. */
  commandDeadlineMs?: number;
}

export function redactRedisUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<RedisConnection> {
  const { logger, connectTimeoutMs = 5_000, commandDeadlineMs = COMMAND_DEADLINE_MS } = options;
  const target = redactRedisUrl(url);
  const deadline = new RedisDeadline(target, commandDeadlineMs);
  const { createClient } = await import('@keyv/redis');
  const open = (role: 'commands' | 'pub/sub', tracked?: RedisDeadline): RedisClient => {
    const client = createRedisClient(createClient, url, connectTimeoutMs);
    // One warning per outage, not one per reconnect attempt.
    let down = false;
    client.on('error', (error: Error) => {
      if (isPasswordRefusal(error)) tracked?.refused(error.message);
      if (down) return;
      down = true;
      if (isPasswordRefusal(error))
        logger.warn({ redis: target, role, err: error.message }, `${PASSWORD_REFUSED}; reconnecting`);
      else logger.warn({ redis: target, role, err: error.message }, 'Redis unreachable; reconnecting');
    });
    client.on('ready', () => {
      tracked?.reconnected();
      if (!down) return;
      down = false;
      logger.info({ redis: target, role }, 'Redis reachable again');
    });
    return client;
  };

  const raw = open('commands', deadline);
  let timer: NodeJS.Timeout | undefined;
  // A refused AUTH in the handshake only shows as an `error` event: node-redis goes on reconnecting.
  let refused: (error: Error) => void = () => undefined;
  const onHandshakeError = (error: Error) => {
    if (isPasswordRefusal(error)) refused(error);
  };
  raw.on('error', onHandshakeError);
  try {
    await Promise.race([
      (async () => {
        await raw.connect();
        // Without a password against a requirepass Redis, connecting works and the first command fails.
        await deadline.run(() => raw.ping());
      })(),
      new Promise((_, reject) => {
        refused = reject;
        timer = setTimeout(
          () => reject(new Error(`no answer from ${target} within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    raw.destroy();
    if (isPasswordRefusal(error)) throw new RedisPasswordRefusedError(target, messageOf(error));
    throw new Error(`Cannot reach Redis at CACHE_URL (${target}): ${messageOf(error)}`);
  } finally {
    clearTimeout(timer);
    raw.off('error', onHandshakeError);
  }

  const client = underDeadline(raw, deadline);
  let probing = false;
  let subscriber: Promise<RedisClient> | null = null;
  return {
    client,
    target,
    get ready() {
      return raw.isReady && deadline.problem === null;
    },
    get problem() {
      if (!raw.isReady) return deadline.problem ?? 'not connected; reconnecting';
      return deadline.problem;
    },
    probe() {
      if (probing || !raw.isReady) return;
      probing = true;
      void client
        .ping()
        .catch(() => undefined)
        .finally(() => (probing = false));
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
      for (const c of [sub, raw]) {
        if (!c?.isOpen) continue;
        // close() waits for pending replies, which never come while Redis is away or stalled.
        await (c.isReady && deadline.problem === null ? c.close() : Promise.resolve(c.destroy()));
      }
    },
  };
}
