import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * Messages on one channel to every replica, this one included. A message reaches this process's
 * listeners at once (even while Redis is away) and other replicas through Redis pub/sub; a replica
 * never hears its own message twice.
 */
export interface Broadcast<T> {
  publish(message: T): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (message: T) => void): () => void;
  /**
   * Called after messages may have been missed (the pub/sub connection dropped and came back): listeners
   * re-read what they follow. Returns the unsubscribe function.
   */
  onMissed(listener: () => void): () => void;
}

function localEmitter<T>(): { emit(message: T): void; subscribe(listener: (m: T) => void): () => void } {
  const emitter = new EventEmitter();
  // Every open subscription is one listener; the default cap of 10 would warn on a busy server.
  emitter.setMaxListeners(0);
  return {
    emit: (message) => emitter.emit('message', message),
    subscribe(listener) {
      emitter.on('message', listener);
      return () => emitter.off('message', listener);
    },
  };
}

export function createLocalBroadcast<T>(): Broadcast<T> {
  const local = localEmitter<T>();
  return {
    publish: (message) => local.emit(message),
    subscribe: (listener) => local.subscribe(listener),
    // In-process delivery cannot miss a message.
    onMissed: () => () => undefined,
  };
}

interface Envelope<T> {
  origin: string;
  message: T;
}

export async function createRedisBroadcast<T>(
  connection: RedisConnection,
  channel: string,
  logger: Logger,
): Promise<Broadcast<T>> {
  const origin = randomUUID();
  const local = localEmitter<T>();
  const subscriber = await connection.subscriber();
  await subscriber.subscribe(channel, (raw) => {
    let envelope: Envelope<T>;
    try {
      envelope = JSON.parse(raw) as Envelope<T>;
    } catch {
      logger.warn({ channel }, 'unreadable message on a Fleetgraph channel; ignored');
      return;
    }
    if (envelope.origin !== origin) local.emit(envelope.message);
  });
  // node-redis re-subscribes on every new socket; whatever was published in between is lost.
  const missed = new EventEmitter();
  missed.setMaxListeners(0);
  subscriber.on('ready', () => {
    logger.info({ channel }, 'pub/sub reconnected; subscribers re-read what they may have missed');
    missed.emit('missed');
  });
  return {
    publish(message) {
      local.emit(message);
      const envelope: Envelope<T> = { origin, message };
      connection.client.publish(channel, JSON.stringify(envelope)).catch((error: unknown) => {
        // Subscribers on other replicas miss this change; they still read the current state on (re)subscribe.
        logger.warn(
          { channel, err: error instanceof Error ? error.message : String(error) },
          'could not broadcast to other replicas (Redis unreachable)',
        );
      });
    },
    subscribe: (listener) => local.subscribe(listener),
    onMissed(listener) {
      missed.on('missed', listener);
      return () => missed.off('missed', listener);
    },
  };
}
