import { SharedStoreError } from '../cache/errors.js';
import type { Locks } from '../cache/locks.js';
import type { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import { KDMS_MAX_IDS_PER_GET, KDMS_MAX_PAGE_SIZE, KWN_EVENTS } from '../upstreams/kdms/kdms.wire.js';
import type {
  KdmsDeviceResult,
  KdmsTargetService,
  KwnKdmsEventNotification,
} from '../upstreams/kdms/kdms.wire.js';
import type { JobEvents } from './job-events.js';
import { isSettled, statusFor } from './upload-job.js';
import type { DeviceFailure, UploadJob, UploadJobOperation } from './upload-job.js';
import type { UploadJobStore } from './upload-job.store.js';

/**
 * The lifecycle of upload and delete jobs: submit to KDMS (202), store PENDING, settle from the signed
 * callback — idempotently, in any order — or, when no callback comes in time, by polling KDMS.
 * Changes to one job hold its lock, which spans every replica on one Redis: a callback on one replica
 * and a poll on another never interleave, and any replica settles what another started.
 */
export interface SubmitRequest {
  operation: UploadJobOperation;
  identifiers: string[];
  duplicates: string[];
  targetServices: KdmsTargetService[];
}

export type CallbackOutcome = 'applied' | 'duplicate' | 'stale' | 'early';

/**
 * A device KDMS did not take. The result body is assumed: `status` decides when it is there (anything but
 * SUCCESS failed); without one, an error code is what tells a failure.
 */
const isFailure = (result: KdmsDeviceResult): boolean =>
  result.status !== null ? result.status.toUpperCase() !== 'SUCCESS' : result.errorCode !== null;

/** Settling a 10,000-device job by polling reads KDMS 10 times: seconds, far below the TTL. */
const JOB_LOCK = { ttlMs: 60_000, waitMs: 30_000 };
/** A list and at most three writes to KWN. */
const SUBSCRIPTION_LOCK = { ttlMs: 30_000, waitMs: 30_000 };

export class UploadJobService {
  /** Jobs KDMS accepted while the store was unreachable: recorded by `recordUnsaved` once it is back. */
  private readonly unsaved = new Map<string, UploadJob>();

  constructor(
    private readonly kdms: KdmsClient,
    private readonly store: UploadJobStore,
    private readonly events: JobEvents,
    private readonly locks: Locks,
  ) {}

  get(id: string): Promise<UploadJob | null> {
    return this.store.get(id);
  }

  list(...args: Parameters<UploadJobStore['list']>): ReturnType<UploadJobStore['list']> {
    return this.store.list(...args);
  }

  async submit(request: SubmitRequest): Promise<UploadJob> {
    // Nothing goes to KDMS unless the job can be recorded.
    await this.store.check();
    const body = { deviceIds: request.identifiers, targetServices: request.targetServices };
    const accepted =
      request.operation === 'UPLOAD'
        ? await this.kdms.uploadDevices(body)
        : await this.kdms.deleteDevices(body);
    const job: UploadJob = {
      id: accepted.uploadId,
      operation: request.operation,
      status: 'PENDING',
      targetServices: request.targetServices,
      identifiers: request.identifiers,
      duplicates: request.duplicates,
      requested: request.identifiers.length,
      succeeded: null,
      failed: null,
      failures: [],
      settledBy: null,
      submittedAt: new Date().toISOString(),
      completedAt: null,
      version: 1,
    };
    try {
      return await this.record(job);
    } catch (error) {
      if (!(error instanceof SharedStoreError)) throw error;
      // KDMS has the job; losing track of it now would lose its result. Keep it until the store is back.
      this.unsaved.set(job.id, job);
      throw new SharedStoreError(
        error.reason,
        `KDMS accepted the ${job.operation === 'UPLOAD' ? 'upload' : 'delete'} as job ${job.id}, but ${error.message}. ` +
          `Fleetgraph records the job as soon as the store is back; ask for uploadJob(id: "${job.id}") then`,
        { uploadId: job.id },
        error,
      );
    }
  }

  /** Stores jobs KDMS accepted while the store was away (throws while it still is); returns how many. */
  async recordUnsaved(): Promise<number> {
    let recorded = 0;
    for (const job of [...this.unsaved.values()]) {
      await this.record(job);
      this.unsaved.delete(job.id);
      recorded += 1;
    }
    return recorded;
  }

  /**
   * Under the job's lock: a callback that beat the 202 is either kept as early (and taken here) or
   * waits until the job is stored.
   */
  private record(job: UploadJob): Promise<UploadJob> {
    return this.serially(job.id, async () => {
      await this.store.add(job);
      this.events.publish(job);
      const early = await this.store.takeEarlyEvent(job.id);
      if (early) await this.applyInQueue(early);
      return (await this.store.get(job.id)) ?? job;
    });
  }

  /** Applies a verified callback. Safe to call again with the same event, or for a job not stored yet. */
  applyCallback(notification: KwnKdmsEventNotification): Promise<CallbackOutcome> {
    return this.serially(notification.data.uploadId, async () => {
      if (await this.store.isEventApplied(notification.eventId)) return 'duplicate';
      const outcome = await this.applyInQueue(notification);
      await this.store.markEventApplied(notification.eventId);
      return outcome;
    });
  }

  private async applyInQueue(notification: KwnKdmsEventNotification): Promise<CallbackOutcome> {
    const uploadId = notification.data.uploadId;
    const job = await this.store.get(uploadId);
    if (!job) {
      await this.store.keepEarlyEvent(notification);
      return 'early';
    }
    const expected = job.operation === 'UPLOAD' ? KWN_EVENTS.upload : KWN_EVENTS.delete;
    // The event name is part of the assumed body: a callback without one does not contradict the job.
    const otherEvent = notification.eventType !== null && notification.eventType !== expected;
    // A callback is authoritative over a poll (it carries KDMS's reasons); nothing overrides a callback.
    if (otherEvent || job.settledBy === 'WEBHOOK') return 'stale';
    const failures: DeviceFailure[] = notification.data.results.filter(isFailure).map((r) => ({
      identifier: r.deviceId,
      code: r.errorCode ?? 'UNKNOWN',
      message: r.errorMessage ?? '',
    }));
    const succeeded = notification.data.results.length - failures.length;
    await this.save({
      ...job,
      status: statusFor(succeeded, job.requested),
      succeeded,
      failed: job.requested - succeeded,
      failures,
      settledBy: 'WEBHOOK',
      completedAt: notification.eventTime ?? new Date().toISOString(),
      version: job.version + 1,
    });
    return 'applied';
  }

  /** Settles a job from what KDMS holds now; used when its callback is overdue. */
  settleByPolling(id: string): Promise<UploadJob | null> {
    return this.serially(id, async () => {
      const job = await this.store.get(id);
      if (!job || isSettled(job)) return job;
      const held =
        job.operation === 'UPLOAD'
          ? await this.identifiersOfUpload(job.id)
          : await this.identifiersHeld(job.identifiers);
      const failures: DeviceFailure[] = [];
      for (const identifier of job.identifiers) {
        const ok = job.operation === 'UPLOAD' ? held.has(identifier) : !held.has(identifier);
        if (ok) continue;
        failures.push(
          job.operation === 'UPLOAD'
            ? {
                identifier,
                code: 'NOT_REGISTERED',
                message:
                  'KDMS holds no device with this id for the upload; its callback, which would say why, never arrived',
              }
            : {
                identifier,
                code: 'STILL_REGISTERED',
                message: 'KDMS still holds this device; its callback, which would say why, never arrived',
              },
        );
      }
      const succeeded = job.requested - failures.length;
      return this.save({
        ...job,
        status: statusFor(succeeded, job.requested),
        succeeded,
        failed: failures.length,
        failures,
        settledBy: 'POLLING',
        completedAt: new Date().toISOString(),
        version: job.version + 1,
      });
    });
  }

  /** Settles every pending job submitted more than `timeoutMs` ago; returns how many it settled. */
  async settleOverdue(timeoutMs: number): Promise<number> {
    const overdue = (await this.store.pending()).filter(
      (j) => Date.now() - Date.parse(j.submittedAt) >= timeoutMs,
    );
    for (const job of overdue) await this.settleByPolling(job.id);
    return overdue.length;
  }

  /** The job now, then every later change (older events are skipped). */
  async *watch(id: string, signal?: AbortSignal): AsyncGenerator<UploadJob> {
    const changes = this.events.subscribe(id, signal);
    let version = 0;
    try {
      const current = await this.store.get(id);
      if (current) {
        version = current.version;
        yield current;
      }
      for await (const job of changes) {
        if (job.version <= version) continue;
        version = job.version;
        yield job;
      }
    } finally {
      await changes.return?.();
    }
  }

  /**
   * Makes sure KDMS calls `callbackUrl` for both KDMS events. KWN allows one subscription per event, so
   * existing subscriptions are re-pointed rather than duplicated.
   */
  ensureSubscription(callbackUrl: string): Promise<'created' | 'updated' | 'unchanged'> {
    // Replicas start together; without the lock two of them would both find no subscription and both create one.
    return this.locks.withLock(
      'kwn:subscription',
      () => this.pointSubscriptionsAt(callbackUrl),
      SUBSCRIPTION_LOCK,
    );
  }

  private async pointSubscriptionsAt(callbackUrl: string): Promise<'created' | 'updated' | 'unchanged'> {
    const wanted: string[] = [KWN_EVENTS.upload, KWN_EVENTS.delete];
    const existing = await this.kdms.listSubscriptions();
    let outcome: 'created' | 'updated' | 'unchanged' = 'unchanged';
    const covered = new Set<string>();
    for (const sub of existing) {
      const ours = sub.events.filter((e) => wanted.includes(e));
      if (ours.length === 0) continue;
      ours.forEach((e) => covered.add(e));
      if (sub.callbackUrl !== callbackUrl) {
        await this.kdms.updateSubscription(sub.subscriptionId, {
          callbackUrl,
          events: sub.events,
          description: sub.description ?? 'Fleetgraph',
        });
        outcome = 'updated';
      }
    }
    const missing = wanted.filter((e) => !covered.has(e));
    if (missing.length) {
      await this.kdms.createSubscription({
        callbackUrl,
        events: missing,
        description: 'Fleetgraph upload jobs',
      });
      outcome = outcome === 'unchanged' ? 'created' : outcome;
    }
    return outcome;
  }

  private async identifiersOfUpload(uploadId: string): Promise<Set<string>> {
    const held = new Set<string>();
    let searchAfter: string | undefined;
    do {
      const page = await this.kdms.getDevices({
        uploadId,
        pageSize: KDMS_MAX_PAGE_SIZE,
        ...(searchAfter ? { searchAfter } : {}),
      });
      for (const r of page.registrations)
        for (const id of [r.imei, r.secondaryImei, r.serialNumber]) if (id) held.add(id);
      searchAfter = page.nextSearchAfter ?? undefined;
    } while (searchAfter);
    return held;
  }

  private async identifiersHeld(identifiers: string[]): Promise<Set<string>> {
    const held = new Set<string>();
    for (let i = 0; i < identifiers.length; i += KDMS_MAX_IDS_PER_GET) {
      const chunk = identifiers.slice(i, i + KDMS_MAX_IDS_PER_GET);
      const page = await this.kdms.getDevices({ deviceIds: chunk, pageSize: KDMS_MAX_PAGE_SIZE });
      for (const r of page.registrations)
        for (const id of [r.imei, r.secondaryImei, r.serialNumber])
          if (id && chunk.includes(id)) held.add(id);
    }
    return held;
  }

  private async save(job: UploadJob): Promise<UploadJob> {
    await this.store.put(job);
    this.events.publish(job);
    return job;
  }

  private serially<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`job:${id}`, task, JOB_LOCK);
  }
}
