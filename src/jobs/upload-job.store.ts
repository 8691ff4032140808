import type { Keyv } from 'keyv';
import type { KwnKdmsEventNotification } from '../upstreams/kdms/kdms.wire.js';
import type { UploadJob, UploadJobStatus } from './upload-job.js';

/**
 * Upload jobs in the `jobs` keyv store: each job under its id, an index of ids (newest first) for
 * listings and the poller, callbacks that arrived before their job was stored, and the event ids
 * already applied (so a replayed callback changes nothing).
 */
const INDEX_KEY = 'index';
/** How long applied event ids are remembered: far longer than any redelivery window. */
const SEEN_EVENT_TTL_MS = 7 * 24 * 3600_000;
/** A callback for a job we never stored is kept this long, in case the job is stored after it. */
const EARLY_EVENT_TTL_MS = 24 * 3600_000;

export class UploadJobStore {
  /** Index updates are read-modify-write: one at a time per process. */
  private indexQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Keyv) {}

  async get(id: string): Promise<UploadJob | null> {
    return ((await this.store.get(`job:${id}`)) as UploadJob | undefined) ?? null;
  }

  async put(job: UploadJob): Promise<void> {
    await this.store.set(`job:${job.id}`, job);
  }

  async add(job: UploadJob): Promise<void> {
    await this.put(job);
    await this.updateIndex((ids) => [job.id, ...ids.filter((i) => i !== job.id)]);
  }

  async ids(): Promise<string[]> {
    return ((await this.store.get(INDEX_KEY)) as string[] | undefined) ?? [];
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

  /** True the first time an event id is seen. */
  async markEventApplied(eventId: string): Promise<boolean> {
    const key = `event:${eventId}`;
    if (await this.store.has(key)) return false;
    await this.store.set(key, true, SEEN_EVENT_TTL_MS);
    return true;
  }

  async keepEarlyEvent(notification: KwnKdmsEventNotification): Promise<void> {
    await this.store.set(`early:${notification.data.uploadId}`, notification, EARLY_EVENT_TTL_MS);
  }

  async takeEarlyEvent(uploadId: string): Promise<KwnKdmsEventNotification | null> {
    const key = `early:${uploadId}`;
    const found = (await this.store.get(key)) as KwnKdmsEventNotification | undefined;
    if (found) await this.store.delete(key);
    return found ?? null;
  }

  private updateIndex(change: (ids: string[]) => string[]): Promise<void> {
    const next = this.indexQueue.then(async () => {
      await this.store.set(INDEX_KEY, change(await this.ids()));
    });
    this.indexQueue = next.catch(() => undefined);
    return next;
  }
}
