import { createHash } from 'node:crypto';
import type { JobEntry, JobRecords } from '../cache/job-records.js';
import type { Locks } from '../cache/locks.js';
import { formatJsonPath } from '../upstreams/errors.js';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import { JobCallback, callbackDeviceKey } from './job-callback.js';
import { OPEN_STATUSES, StoredUploadJob, deviceSetKey } from './upload-job.js';
import type { UploadJob, UploadJobStatus } from './upload-job.js';

/**
 * Upload jobs as the service sees them, over the job records (SQLite alone, Redis with CACHE_URL).
 * Every record is read through the job schema (`StoredUploadJob`) and every callback kept for later
 * through the callback schema: what does not fit is never served. One unreadable record costs that
 * record only — a listing skips it, a lookup finds nothing — and is counted and logged with its id.
 */
export class UploadJobStore {
  /** Records that did not fit the schema since start, for logs and tests. */
  unreadableRecords = 0;

  constructor(
    private readonly records: JobRecords,
    // Unused: locks are the records' business now (each implementation takes what it needs).
    _locks?: Locks,
    private readonly logger: Logger = silentLogger(),
  ) {}

  /** Throws STORE_UNAVAILABLE unless the store answers; checked before anything is sent to KDMS. */
  check(): Promise<void> {
    return this.records.check();
  }

  async get(id: string): Promise<UploadJob | null> {
    return this.read(id, await this.records.get(id));
  }

  /**
   * The job KDMS knows as `uploadId`. Jobs recorded before they had ids of their own are stored under
   * their uploadId, so that is looked up too.
   */
  async byUploadId(uploadId: string): Promise<UploadJob | null> {
    const id = await this.records.idFor('uploadId', uploadId);
    const job = await this.get(id ?? uploadId);
    return job?.uploadId === uploadId ? job : null;
  }

  /** The job with this id, or else the one KDMS knows by this uploadId. */
  async find(idOrUploadId: string): Promise<UploadJob | null> {
    const job = await this.get(idOrUploadId);
    if (job) return job;
    const id = await this.records.idFor('uploadId', idOrUploadId);
    return id ? this.get(id) : null;
  }

  /** The job submitted with this idempotency key by this caller. */
  async byIdempotencyKey(key: string, submittedBy: string | null): Promise<UploadJob | null> {
    const id = await this.records.idFor('ownerKey', ownerKey(key, submittedBy));
    return id ? this.get(id) : null;
  }

  /**
   * Stores a new job. With an idempotency key already used by the same caller it stores nothing and
   * returns the job that holds the key (in one transaction with SQLite, under a lock on Redis).
   */
  async add(job: UploadJob): Promise<UploadJob | null> {
    const holder = await this.records.add(this.entry(job));
    if (holder === null) return null;
    const earlier = await this.get(holder);
    if (!earlier)
      throw new Error(
        `the upload job ${holder} holds this idempotency key but cannot be read; nothing was sent`,
      );
    return earlier;
  }

  /** Replaces the job; `appliedEventId`, the callback it applied, is marked in the same write. */
  async put(job: UploadJob, appliedEventId?: string): Promise<void> {
    await this.records.put(this.entry(job), appliedEventId);
  }

  async remove(job: UploadJob): Promise<void> {
    await this.records.remove(this.entry(job));
  }

  /** Jobs newest first, optionally of one status, from `offset`. */
  async list(
    status: UploadJobStatus | null,
    offset: number,
    limit: number,
  ): Promise<{ jobs: UploadJob[]; hasMore: boolean }> {
    const jobs: UploadJob[] = [];
    let matched = 0;
    for await (const row of this.records.scan(status ? { status } : {})) {
      const job = this.read(row.id, row.record);
      if (!job || (status && job.status !== status)) continue;
      if (matched++ < offset) continue;
      if (jobs.length === limit) return { jobs, hasMore: true };
      jobs.push(job);
    }
    return { jobs, hasMore: false };
  }

  /**
   * How many jobs `list` walks (all of them, or those of one status), or null when the records cannot
   * count without reading every job. Counted from the records' own indexes, not read through the job
   * schema: a record that does not read (logged, and skipped by `list`) still counts.
   */
  count(status: UploadJobStatus | null): Promise<number | null> {
    return this.records.count(status ? { status } : {});
  }

  /** Jobs not settled yet (UNCONFIRMED and PENDING), newest first. */
  async open(): Promise<UploadJob[]> {
    const jobs: UploadJob[] = [];
    for await (const row of this.records.scan({ open: true })) {
      const job = this.read(row.id, row.record);
      if (job && OPEN_STATUSES.includes(job.status)) jobs.push(job);
    }
    return jobs;
  }

  isEventApplied(eventId: string): Promise<boolean> {
    return this.records.isEventApplied(eventId);
  }

  /** Marked only once the event's effect is stored, so a failure in between lets Knox's retry apply it. */
  markEventApplied(eventId: string): Promise<void> {
    return this.records.markEventApplied(eventId);
  }

  keepEarlyEvent(notification: JobCallback): Promise<void> {
    return this.records.keepEarlyEvent(
      notification.data.uploadId,
      callbackDeviceKey(notification),
      notification,
    );
  }

  async takeEarlyEvent(uploadId: string): Promise<JobCallback | null> {
    const found = await this.records.takeEarlyEvent(uploadId);
    if (found === undefined) return null;
    // Read again through the callback schema (a no-op on what this version kept): a body kept by another
    // release that no longer fits is dropped, and the poller settles its job.
    const read = JobCallback.safeParse(found);
    if (read.success) return read.data;
    this.logger.warn({ uploadId }, 'a kept KDMS callback no longer reads as one; dropped');
    return null;
  }

  /** uploadIds of kept callbacks that report exactly the devices of `job`. */
  earlyEventsFor(job: UploadJob): Promise<string[]> {
    return this.records.earlyEventsFor(deviceSetKey(job.identifiers));
  }

  private read(id: string, record: unknown): UploadJob | null {
    if (record === undefined) return null;
    const read = StoredUploadJob.safeParse(record);
    if (read.success) return read.data;
    this.unreadableRecords += 1;
    const issue = read.error.issues[0];
    this.logger.warn(
      {
        jobId: id,
        path: formatJsonPath(issue?.path ?? []),
        problem: issue?.message,
        unreadableRecords: this.unreadableRecords,
      },
      'a stored upload job does not read as one; skipped',
    );
    return null;
  }

  private entry(job: UploadJob): JobEntry {
    // Never write what could not be read back.
    const record = StoredUploadJob.parse(job);
    return {
      id: record.id,
      uploadId: record.uploadId,
      ownerKey: record.idempotencyKey === null ? null : ownerKey(record.idempotencyKey, record.submittedBy),
      status: record.status,
      open: OPEN_STATUSES.includes(record.status),
      record,
    };
  }
}

/** An idempotency key belongs to the caller that sent it: two callers may pick the same key. */
function ownerKey(key: string, submittedBy: string | null): string {
  return createHash('sha256')
    .update(submittedBy ?? '')
    .update('\0')
    .update(key)
    .digest('hex');
}
