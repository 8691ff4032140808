import type { Keyv } from 'keyv';
import { storeUnreachable } from '../cache/errors.js';
import type { Locks } from '../cache/locks.js';
import { KwnKdmsEventNotification } from '../upstreams/kdms/kdms.wire.js';
import type { UploadJob, UploadJobStatus } from './upload-job.js';

/**
 * Upload jobs in the `jobs` keyv store: each job under its id, an index of ids (newest first) for
 * listings and the poller, callbacks that arrived before their job was stored, and the event ids
 * already applied (so a replayed callback changes nothing). With several replicas on one Redis the
 * index is changed under a lock; every store failure becomes one STORE_UNAVAILABLE error.
 */
const INDEX_KEY = 'index';
/** How long applied event ids are remembered: far longer than any redelivery window. */
const SEEN_EVENT_TTL_MS = 7 * 24 * 3600_000;
/** A callback for a job we never stored is kept this long, in case the job is stored after it. */
const EARLY_EVENT_TTL_MS = 24 * 3600_000;
/** Index updates are one read and one write: milliseconds. */
const INDEX_LOCK = { ttlMs: 10_000, waitMs: 10_000 };
const UNREACHABLE = 'upload jobs cannot be read or changed until it is back';

export class UploadJobStore {
  constructor(
    private readonly store: Keyv,
    private readonly locks: Locks,
  ) {}

  /** Throws STORE_UNAVAILABLE unless the store answers; checked before anything is sent to KDMS. */
  async check(): Promise<void> {
    await this.guard(() => this.store.has(INDEX_KEY));
  }

  async get(id: string): Promise<UploadJob | null> {
    return ((await this.guard(() => this.store.get(`job:${id}`))) as UploadJob | undefined) ?? null;
  }

  async put(job: UploadJob): Promise<void> {
    await this.guard(() => this.store.set(`job:${job.id}`, job));
  }

  async add(job: UploadJob): Promise<void> {
    await this.put(job);
    await this.updateIndex((ids) => [job.id, ...ids.filter((i) => i !== job.id)]);
  }

  async ids(): Promise<string[]> {
    return ((await this.guard(() => this.store.get(INDEX_KEY))) as string[] | undefined) ?? [];
  }

  /** Jobs newest first, optionally of one status, from `offset`. */
  async list(
    status: UploadJobStatus | null,
    offset: number,
    limit: number,
  ): Promise<{ jobs: UploadJob[]; hasMore: boolean }> {
    const ids = await this.ids();
    const jobs: UploadJob[] = [];
    let matched = 0;
    for (const id of ids) {
      const job = await this.get(id);
      if (!job || (status && job.status !== status)) continue;
      if (matched++ < offset) continue;
      if (jobs.length === limit) return { jobs, hasMore: true };
      jobs.push(job);
    }
    return { jobs, hasMore: false };
  }

  async pending(): Promise<UploadJob[]> {
    return (await this.list('PENDING', 0, Number.MAX_SAFE_INTEGER)).jobs;
  }

  async isEventApplied(eventId: string): Promise<boolean> {
    return this.guard(() => this.store.has(`event:${eventId}`));
  }

  /** Marked only once the event's effect is stored, so a failure in between lets Knox's retry apply it. */
  async markEventApplied(eventId: string): Promise<void> {
    await this.guard(() => this.store.set(`event:${eventId}`, true, SEEN_EVENT_TTL_MS));
  }

  async keepEarlyEvent(notification: KwnKdmsEventNotification): Promise<void> {
    await this.guard(() =>
      this.store.set(`early:${notification.data.uploadId}`, notification, EARLY_EVENT_TTL_MS),
    );
  }

  async takeEarlyEvent(uploadId: string): Promise<KwnKdmsEventNotification | null> {
    const key = `early:${uploadId}`;
    const found: unknown = await this.guard(() => this.store.get(key));
    if (found === undefined) return null;
    await this.guard(() => this.store.delete(key));
    // Read again through the callback schema (a no-op on what this version kept): a body kept by another
    // release that no longer fits is dropped, and the poller settles its job.
    const read = KwnKdmsEventNotification.safeParse(found);
    return read.success ? read.data : null;
  }

  private updateIndex(change: (ids: string[]) => string[]): Promise<void> {
    return this.locks.withLock(
      'jobs:index',
      async () => {
        const ids = await this.ids();
        await this.guard(() => this.store.set(INDEX_KEY, change(ids)));
      },
      INDEX_LOCK,
    );
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw storeUnreachable(UNREACHABLE, error);
    }
  }
}
