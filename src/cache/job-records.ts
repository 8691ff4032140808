import type { Keyv } from 'keyv';
import { storeUnreachable } from './errors.js';
import type { Locks } from './locks.js';

/**
 * Where upload jobs are kept: the narrow interface the job store (src/jobs/upload-job.store.ts) needs,
 * with two implementations: SQLite on this machine (sqlite-job-records.ts, the default) and keyv on the
 * shared Redis (below, with CACHE_URL). Records are opaque JSON here: the job store validates every one
 * it reads, so a store never has to trust what it holds.
 */
export interface JobEntry {
  id: string;
  /** KDMS's uploadId once known: callbacks find their job by it. */
  uploadId: string | null;
  /** The caller's idempotency key, scoped to the caller; unique over the store. */
  ownerKey: string | null;
  status: string;
  /** Not settled yet (the poller and the callback matcher read only these). */
  open: boolean;
  /** The job itself, JSON-safe. */
  record: unknown;
}

/** One stored record as read, for the job store to validate. */
export interface JobRow {
  id: string;
  record: unknown;
}

export interface JobRecords {
  /** Throws STORE_UNAVAILABLE unless the store answers. */
  check(): Promise<void>;
  get(id: string): Promise<unknown>;
  idFor(index: 'uploadId' | 'ownerKey', value: string): Promise<string | null>;
  /**
   * Stores a new job, atomically with its idempotency key: when `entry.ownerKey` is already taken, it
   * stores nothing and returns the id of the job that holds the key; otherwise null.
   */
  add(entry: JobEntry): Promise<string | null>;
  /** Replaces a job (its indexes follow); `appliedEventId` is marked applied in the same write. */
  put(entry: JobEntry, appliedEventId?: string): Promise<void>;
  /** Forgets a job KDMS never took (its idempotency key is free again). */
  remove(entry: JobEntry): Promise<void>;
  /** Records newest first: all, the open ones, or those of one status. */
  scan(filter: { open?: boolean; status?: string }): AsyncIterable<JobRow>;
  /** How many records `scan` would yield, or null when that takes reading each record. */
  count(filter: { status?: string }): Promise<number | null>;
  isEventApplied(eventId: string): Promise<boolean>;
  markEventApplied(eventId: string): Promise<void>;
  /** A callback whose job is not known (yet), kept for a day with the key of the devices it reports. */
  keepEarlyEvent(uploadId: string, deviceKey: string, notification: unknown): Promise<void>;
  takeEarlyEvent(uploadId: string): Promise<unknown>;
  /** uploadIds of the kept callbacks that report exactly this set of devices. */
  earlyEventsFor(deviceKey: string): Promise<string[]>;
  close(): Promise<void>;
}

/** How long applied event ids are remembered: far longer than any redelivery window. */
export const SEEN_EVENT_TTL_MS = 7 * 24 * 3600_000;
/** A callback for a job not known yet is kept this long, in case the job learns its uploadId after it. */
export const EARLY_EVENT_TTL_MS = 24 * 3600_000;

const INDEX_KEY = 'index';
const OPEN_KEY = 'open';
/** Index updates are a read and a write or two: milliseconds. */
const INDEX_LOCK = { waitMs: 10_000 };
const UNREACHABLE = 'upload jobs cannot be read or changed until it is back';

interface KeptEvent {
  deviceKey: string;
  notification: unknown;
}

/**
 * Jobs on the shared Redis, through keyv: each job under `job:<id>`, lookups `upload:<uploadId>` and
 * `key:<ownerKey>`, id lists `index` (every job, newest first) and `open` (unsettled ones). Every key is
 * written whole in one command; the lists change under a lock that spans the replicas.
 */
export class KeyvJobRecords implements JobRecords {
  constructor(
    private readonly store: Keyv,
    private readonly locks: Locks,
  ) {}

  async check(): Promise<void> {
    await this.guard(() => this.store.has(INDEX_KEY));
  }

  get(id: string): Promise<unknown> {
    return this.guard(() => this.store.get(`job:${id}`));
  }

  async idFor(index: 'uploadId' | 'ownerKey', value: string): Promise<string | null> {
    const found: unknown = await this.guard(() =>
      this.store.get(`${index === 'uploadId' ? 'upload' : 'key'}:${value}`),
    );
    return typeof found === 'string' ? found : null;
  }

  add(entry: JobEntry): Promise<string | null> {
    return this.changeLists(async () => {
      if (entry.ownerKey) {
        const holder = await this.idFor('ownerKey', entry.ownerKey);
        if (holder) return holder;
      }
      await this.writeEntry(entry);
      if (entry.ownerKey) await this.guard(() => this.store.set(`key:${entry.ownerKey}`, entry.id));
      await this.setList(INDEX_KEY, [
        entry.id,
        ...(await this.list(INDEX_KEY)).filter((i) => i !== entry.id),
      ]);
      if (entry.open)
        await this.setList(OPEN_KEY, [entry.id, ...(await this.openIds()).filter((i) => i !== entry.id)]);
      return null;
    });
  }

  async put(entry: JobEntry, appliedEventId?: string): Promise<void> {
    await this.writeEntry(entry);
    const open = await this.openIds();
    if (open.includes(entry.id) !== entry.open)
      await this.changeLists(async () => {
        const ids = (await this.openIds()).filter((i) => i !== entry.id);
        await this.setList(OPEN_KEY, entry.open ? [entry.id, ...ids] : ids);
      });
    // After the job: a failure in between lets Knox's redelivery apply the event again, harmlessly.
    if (appliedEventId) await this.markEventApplied(appliedEventId);
  }

  remove(entry: JobEntry): Promise<void> {
    return this.changeLists(async () => {
      await this.setList(
        OPEN_KEY,
        (await this.openIds()).filter((i) => i !== entry.id),
      );
      await this.setList(
        INDEX_KEY,
        (await this.list(INDEX_KEY)).filter((i) => i !== entry.id),
      );
      if (entry.ownerKey) await this.guard(() => this.store.delete(`key:${entry.ownerKey}`));
      await this.guard(() => this.store.delete(`job:${entry.id}`));
    });
  }

  async *scan(filter: { open?: boolean; status?: string }): AsyncIterable<JobRow> {
    const ids = filter.open ? await this.openIds() : await this.list(INDEX_KEY);
    for (const id of ids) {
      const record = await this.get(id);
      if (record === undefined) continue;
      if (filter.status && (record as { status?: unknown }).status !== filter.status) continue;
      yield { id, record };
    }
  }

  /**
   * Every job: the length of the id list (one read, the one a listing makes anyway). Jobs of one status:
   * null, since only reading every job record would tell (the lists keep ids, not statuses).
   */
  async count(filter: { status?: string }): Promise<number | null> {
    return filter.status ? null : (await this.list(INDEX_KEY)).length;
  }

  isEventApplied(eventId: string): Promise<boolean> {
    return this.guard(() => this.store.has(`event:${eventId}`));
  }

  async markEventApplied(eventId: string): Promise<void> {
    await this.guard(() => this.store.set(`event:${eventId}`, true, SEEN_EVENT_TTL_MS));
  }

  async keepEarlyEvent(uploadId: string, deviceKey: string, notification: unknown): Promise<void> {
    const kept: KeptEvent = { deviceKey, notification };
    await this.guard(() => this.store.set(`early:${uploadId}`, kept, EARLY_EVENT_TTL_MS));
    await this.changeLists(async () => {
      const key = `early-devices:${deviceKey}`;
      const ids = await this.list(key);
      if (!ids.includes(uploadId))
        await this.guard(() => this.store.set(key, [...ids, uploadId], EARLY_EVENT_TTL_MS));
    });
  }

  async takeEarlyEvent(uploadId: string): Promise<unknown> {
    const key = `early:${uploadId}`;
    const found: unknown = await this.guard(() => this.store.get(key));
    if (found === undefined) return undefined;
    await this.guard(() => this.store.delete(key));
    // Kept by an earlier release: the notification itself.
    return typeof found === 'object' && found !== null && 'notification' in found
      ? (found as KeptEvent).notification
      : found;
  }

  async earlyEventsFor(deviceKey: string): Promise<string[]> {
    const ids = await this.list(`early-devices:${deviceKey}`);
    const kept: string[] = [];
    // The list outlives events already taken; only those still kept count.
    for (const id of ids) if (await this.guard(() => this.store.has(`early:${id}`))) kept.push(id);
    return kept;
  }

  async close(): Promise<void> {
    await this.store.disconnect();
  }

  private async writeEntry(entry: JobEntry): Promise<void> {
    await this.guard(() => this.store.set(`job:${entry.id}`, entry.record));
    if (entry.uploadId) await this.guard(() => this.store.set(`upload:${entry.uploadId}`, entry.id));
  }

  /**
   * The unsettled jobs. A store written before this list existed has none: it is built once from the
   * index (statuses read as stored; the job store validates the records themselves).
   */
  private async openIds(): Promise<string[]> {
    const open: unknown = await this.guard(() => this.store.get(OPEN_KEY));
    if (Array.isArray(open)) return open as string[];
    const ids: string[] = [];
    for (const id of await this.list(INDEX_KEY)) {
      const status = ((await this.get(id)) as { status?: unknown } | undefined)?.status;
      if (status === 'PENDING' || status === 'UNCONFIRMED') ids.push(id);
    }
    await this.setList(OPEN_KEY, ids);
    return ids;
  }

  private async list(key: string): Promise<string[]> {
    const found: unknown = await this.guard(() => this.store.get(key));
    return Array.isArray(found) ? found.filter((v): v is string => typeof v === 'string') : [];
  }

  private async setList(key: string, ids: string[]): Promise<void> {
    await this.guard(() => this.store.set(key, ids));
  }

  private changeLists<T>(change: () => Promise<T>): Promise<T> {
    return this.guard(() => this.locks.withLock('jobs:index', change, INDEX_LOCK));
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw storeUnreachable(UNREACHABLE, error);
    }
  }
}
