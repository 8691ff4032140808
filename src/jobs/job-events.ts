import { EventEmitter } from 'node:events';
import type { Broadcast } from '../cache/broadcast.js';
import { isSettled } from './upload-job.js';
import type { UploadJob } from './upload-job.js';

/**
 * Job changes for `uploadJobChanged` subscribers, carried by a broadcast: in-process alone, through
 * Redis pub/sub with `CACHE_URL`, so a webhook that reaches replica A wakes a subscriber on replica B.
 */
export interface JobEvents {
  publish(job: UploadJob): void;
  /**
   * Changes of one job from now on. The listener is attached at once and detached by `close()`; it
   * lives exactly as long as the subscription that asked for it.
   */
  subscribe(id: string): JobChanges;
  /** Listeners attached now, over every job: 0 when no subscription is open. */
  listenerCount(): number;
}

/** In a subscriber's queue: changes may have been missed here (a pub/sub reconnect); re-read the job. */
export const MISSED = Symbol('missed');

/** One subscriber's queue of changes of one job. */
export interface JobChanges {
  /**
   * The next change, or MISSED where changes may have been lost; null once closed (a pending call
   * resolves with null when `close()` runs).
   */
  next(): Promise<UploadJob | typeof MISSED | null>;
  /** Detaches the listener and drops what is queued. Idempotent. */
  close(): void;
}

/**
 * How often open subscriptions re-read their job even when nothing was heard: the safety net for windows
 * no reconnect reveals (a store flushed under a live pub/sub connection, a change published while this
 * replica was briefly partitioned). A job the store no longer has then ends its subscriptions.
 */
export const JOB_WATCH_RECHECK_MS = 30_000;

export function createJobEvents(
  broadcast: Broadcast<UploadJob>,
  options: { recheckMs?: number } = {},
): JobEvents {
  const emitter = new EventEmitter();
  // Every open subscription is one listener; the default cap of 10 would warn on a busy job.
  emitter.setMaxListeners(0);
  broadcast.subscribe((job) => emitter.emit(`job:${job.id}`, job));
  const missed = () => emitter.emit('missed', MISSED);
  // Process-wide, as long as the broadcast: every open subscription hears it and re-reads its job.
  broadcast.onMissed(missed);
  // The recheck timer runs only while a subscription is open.
  let recheck: NodeJS.Timeout | null = null;
  const updateRecheck = (): void => {
    const open = emitter.listenerCount('missed') > 0;
    if (open && !recheck) {
      recheck = setInterval(missed, options.recheckMs ?? JOB_WATCH_RECHECK_MS);
      recheck.unref();
    } else if (!open && recheck) {
      clearInterval(recheck);
      recheck = null;
    }
  };
  return {
    publish: (job) => broadcast.publish(job),
    subscribe(id) {
      const event = `job:${id}`;
      // A job changes a handful of times (UNCONFIRMED, PENDING, settled), so the queue stays tiny.
      const queued: Array<UploadJob | typeof MISSED> = [];
      let waiting: ((job: UploadJob | typeof MISSED | null) => void) | null = null;
      let closed = false;
      const listener = (job: UploadJob | typeof MISSED) => {
        if (waiting) {
          const wake = waiting;
          waiting = null;
          wake(job);
        } else queued.push(job);
      };
      emitter.on(event, listener);
      emitter.on('missed', listener);
      updateRecheck();
      return {
        next() {
          if (queued.length) return Promise.resolve(queued.shift()!);
          if (closed) return Promise.resolve(null);
          return new Promise((resolve) => (waiting = resolve));
        },
        close() {
          if (closed) return;
          closed = true;
          emitter.off(event, listener);
          emitter.off('missed', listener);
          updateRecheck();
          queued.length = 0;
          const wake = waiting;
          waiting = null;
          wake?.(null);
        },
      };
    },
    // Each subscription also listens for 'missed'; count it once.
    listenerCount: () =>
      emitter.eventNames().reduce((n, name) => (name === 'missed' ? n : n + emitter.listenerCount(name)), 0),
  };
}

/**
 * `uploadJobChanged` for one job: the job as it is now, then each newer version, and the end right
 * after the settled state is delivered.
 *
 * Written as an explicit iterator, not an async generator: `return()` on a generator suspended in an
 * `await` is queued behind that await, so a subscription waiting for a change that never comes (an
 * unknown or settled job, a client gone) could never be ended, and kept its listener and its whole
 * request context (loaders, upstream clients) for good. Here `return()` detaches at once and the
 * pending `next()` resolves as done, whatever ends it: the client's `complete`, a closed socket, an
 * error, or the job settling.
 */
export class JobWatch implements AsyncIterableIterator<UploadJob> {
  private version = 0;
  private started = false;
  private finished = false;

  constructor(
    private readonly read: () => Promise<UploadJob | null>,
    private readonly changes: JobChanges,
  ) {}

  async next(): Promise<IteratorResult<UploadJob>> {
    try {
      while (!this.finished) {
        let job: UploadJob | null;
        if (!this.started) {
          this.started = true;
          // Read after the listener is attached (the constructor's caller attached it), so no change
          // between the read and the first event is missed; older events are skipped by version.
          job = await this.read();
        } else {
          const change = await this.changes.next();
          // Changes may have been lost (pub/sub dropped): the job as stored now says what they were. A job
          // the store no longer has (a flushed Redis) ends the subscription rather than leaving it waiting.
          job = change === MISSED ? await this.read() : change;
        }
        if (this.finished || !job) break;
        if (job.version <= this.version) continue;
        this.version = job.version;
        // The settled state is the last one: detach now, deliver it, and end on the next call.
        if (isSettled(job)) this.end();
        return { value: job, done: false };
      }
    } catch (error) {
      this.end();
      throw error;
    }
    this.end();
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<UploadJob>> {
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<UploadJob> {
    return this;
  }

  private end(): void {
    this.finished = true;
    this.changes.close();
  }
}

/**
 * Ends `source` at `deadline` (epoch ms) by throwing `expired()`, returning the source so that it lets
 * go of what it holds. For subscriptions that must not outlive the caller's token.
 */
export function endingAt<T>(
  iterable: AsyncIterable<T>,
  deadline: number,
  expired: () => Error,
): AsyncIterableIterator<T> {
  const source = iterable[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const expiry = new Promise<'expired'>((resolve) => {
    // Timers hold at most ~24.8 days; a token that lives longer never ends a subscription by itself.
    const delay = deadline - Date.now();
    if (delay <= 2 ** 31 - 1) timer = setTimeout(() => resolve('expired'), Math.max(0, delay));
  });
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    await source.return?.();
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      if (finished) return { value: undefined, done: true };
      const outcome = await Promise.race([source.next(), expiry]);
      if (outcome === 'expired') {
        await finish();
        throw expired();
      }
      if (outcome.done) await finish();
      return outcome;
    },
    async return() {
      await finish();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
