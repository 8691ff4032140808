import { randomUUID } from 'node:crypto';
import { SharedStoreError } from '../cache/errors.js';
import { EARLY_EVENT_TTL_MS } from '../cache/job-records.js';
import type { Locks } from '../cache/locks.js';
import type { DeviceRegistration } from '../domain/fleet.js';
import { silentLogger } from '../observability/logger.js';
import type { Logger } from '../observability/logger.js';
import { CircuitOpenError, UpstreamError } from '../upstreams/errors.js';
import type { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import {
  KDMS_MAX_IDS_PER_GET,
  KDMS_MAX_PAGE_SIZE,
  KDMS_PATHS,
  KWN_EVENTS,
} from '../upstreams/kdms/kdms.wire.js';
import type { KdmsOperationAccepted, KdmsTargetService } from '../upstreams/kdms/kdms.wire.js';
import { callbackDeviceKey, callbackOperation, settleFromCallback } from './job-callback.js';
import type { JobCallback } from './job-callback.js';
import { JobWatch } from './job-events.js';
import type { JobEvents } from './job-events.js';
import { OPEN_STATUSES, deviceSetKey, isSettled, settled } from './upload-job.js';
import type { DeviceFailure, UploadJob, UploadJobOperation, UploadJobStatus } from './upload-job.js';
import type { UploadJobStore } from './upload-job.store.js';

/**
 * The lifecycle of upload and delete jobs.
 *
 * 1. Record first. A job is stored (UNCONFIRMED, with an id of its own and the caller's idempotency
 *    key) before KDMS is called, so no answer that goes missing — a timeout, a cut-off or unreadable 202,
 *    a `kill -9` mid-call — can leave an operation KDMS took unknown to Fleetgraph. A second submit with
 *    the same key (and caller) returns that job and sends nothing.
 * 2. Ask KDMS. Its 202 names the operation's `uploadId`: the job becomes PENDING under it. A definite
 *    refusal (4xx, 503, nothing sent at all) removes the job and the caller gets the error. Anything else
 *    leaves the job UNCONFIRMED and tells the caller its id.
 * 3. Settle, idempotently and in any order: from KDMS's signed callback (found by uploadId), or — when no
 *    callback comes in time — by reading KDMS (getDevices).
 *
 * Settling an UNCONFIRMED job, which has no uploadId: a KDMS callback lists every device of its
 * operation (`data.results[].deviceId`, one result per submitted id), and Fleetgraph sent each job's
 * distinct ids, so a callback whose uploadId no job has is matched to the oldest UNCONFIRMED job of the
 * same operation with exactly that set of devices, whose KDMS call is over (while the call is out, its
 * own 202 decides; that call holds the lock `submit:<id>`). The job adopts the uploadId and the
 * callback applies. A callback that finds no such job is kept (a day) by uploadId and by device set: a
 * 202 that names it later, or a job whose call ends without an answer, takes it then, and so does the
 * poller. With no callback at all, the poller reads KDMS for the job's devices once the callback is
 * overdue (getDevices filters by deviceIds) and settles it from what KDMS holds.
 *
 * Locks (across replicas on Redis), always taken in this order: `submit:<jobId>` (the KDMS call and
 * what it leads to), `upload:<uploadId>` (linking a callback to a job), `job:<jobId>` (any change of
 * the job). A callback on one replica and a poll on another never interleave.
 */
export interface SubmitRequest {
  operation: UploadJobOperation;
  identifiers: string[];
  duplicates: string[];
  targetServices: KdmsTargetService[];
  /** The caller's key for this batch: a retry with it returns the first job instead of sending again. */
  idempotencyKey?: string | null;
  /** The caller (token subject); the idempotency key is theirs. Null with caller auth off. */
  submittedBy?: string | null;
}

export type CallbackOutcome = 'applied' | 'duplicate' | 'stale' | 'early';

/** Settling a 10,000-device job by polling reads KDMS 10 times; the lease is renewed meanwhile. */
const JOB_LOCK = { waitMs: 30_000 };
/** One submit per job id: never contended. */
const SUBMIT_LOCK = { waitMs: 5_000 };
/** A list and at most three writes to KWN. */
const SUBSCRIPTION_LOCK = { waitMs: 30_000 };

/** Network failures that happen before a request leaves this machine: KDMS cannot have seen it. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether KDMS certainly did not take the operation: nothing was sent (a token failure, an open
 * breaker, a connection never made), or KDMS refused it (4xx, or 503 "not now"). Anything else — a
 * timeout or reset after sending, an unreadable 2xx, another 5xx (a gateway's 502/504 can hide an
 * accepted request) — may have been taken.
 */
function kdmsDidNotTakeIt(error: unknown): boolean {
  if (error instanceof SharedStoreError || error instanceof CircuitOpenError) return true;
  if (!(error instanceof UpstreamError)) return false;
  if (!error.endpoint.endsWith(KDMS_PATHS.upload) && !error.endpoint.endsWith(KDMS_PATHS.delete)) return true;
  if (error.status !== undefined) return (error.status >= 400 && error.status < 500) || error.status === 503;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NOT_SENT.has(code);
}

const operationWord = (operation: UploadJobOperation) => (operation === 'UPLOAD' ? 'upload' : 'delete');

/**
 * KDMS may have taken the operation, but its answer was lost or unreadable: the job is kept UNCONFIRMED
 * and settled later. The caller learns the upstream failure and the job to follow.
 */
export class UnconfirmedSubmissionError extends Error {
  constructor(
    readonly job: UploadJob,
    readonly failure: unknown,
  ) {
    const what = operationWord(job.operation);
    const reason = failure instanceof Error ? failure.message : String(failure);
    super(
      `${reason}. KDMS may have taken the ${what} all the same: Fleetgraph recorded it as job ${job.id} ` +
        `(UNCONFIRMED), which KDMS's callback or a later read of KDMS settles; follow it with ` +
        `uploadJob(id: "${job.id}") or uploadJobChanged. A retry with the same idempotencyKey returns this ` +
        `job and never sends the devices twice`,
    );
    this.name = 'UnconfirmedSubmissionError';
  }

  /** GraphQL error extensions: the upstream failure as usual, plus the job. */
  get extensions(): Record<string, unknown> {
    const failure = this.failure;
    const upstream =
      failure instanceof UpstreamError
        ? {
            code: failure.code === 'UPSTREAM_AUTH_FAILED' ? 'UPSTREAM_ERROR' : failure.code,
            upstream: failure.upstream,
            endpoint: failure.endpoint,
            ...(failure.status !== undefined ? { upstreamStatus: failure.status } : {}),
          }
        : { code: 'UPSTREAM_UNAVAILABLE', upstream: 'KDMS' };
    return { ...upstream, jobId: this.job.id, jobStatus: this.job.status };
  }
}

/** The idempotency key was used (by this caller) for another batch: nothing is sent. */
export class IdempotencyKeyReusedError extends Error {
  constructor(
    readonly job: UploadJob,
    key: string,
  ) {
    super(
      `idempotencyKey "${key}" was already used for another batch (job ${job.id}: ${operationWord(job.operation)} of ` +
        `${job.requested} device(s)); nothing was sent. Use a new key for a new batch`,
    );
    this.name = 'IdempotencyKeyReusedError';
  }
}

export class UploadJobService {
  /** KDMS answers (job id → uploadId) that could not be recorded while the store was away. */
  private readonly unsaved = new Map<string, string>();

  constructor(
    private readonly kdms: KdmsClient,
    private readonly store: UploadJobStore,
    private readonly events: JobEvents,
    private readonly locks: Locks,
    private readonly logger: Logger = silentLogger(),
  ) {}

  /** By the job's id, or by KDMS's uploadId (the id jobs had before they had their own). */
  get(id: string): Promise<UploadJob | null> {
    return this.store.find(id);
  }

  list(...args: Parameters<UploadJobStore['list']>): ReturnType<UploadJobStore['list']> {
    return this.store.list(...args);
  }

  count(status: UploadJobStatus | null): Promise<number | null> {
    return this.store.count(status);
  }

  /** Open `uploadJobChanged` listeners, over every job (0 when no subscription is open). */
  get watchers(): number {
    return this.events.listenerCount();
  }

  /** Stored records that did not read as jobs since start (each skipped and logged). */
  get unreadableRecords(): number {
    return this.store.unreadableRecords;
  }

  async submit(request: SubmitRequest): Promise<UploadJob> {
    // Nothing goes to KDMS unless the job can be recorded.
    await this.store.check();
    const intent: UploadJob = {
      id: randomUUID(),
      uploadId: null,
      idempotencyKey: request.idempotencyKey ?? null,
      submittedBy: request.submittedBy ?? null,
      operation: request.operation,
      status: 'UNCONFIRMED',
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
    const earlier = await this.store.add(intent);
    if (earlier) return this.replay(earlier, request);

    let accepted: KdmsOperationAccepted | undefined;
    try {
      return await this.locks.withLock(
        `submit:${intent.id}`,
        async () => {
          const body = { deviceIds: request.identifiers, targetServices: request.targetServices };
          try {
            accepted =
              request.operation === 'UPLOAD'
                ? await this.kdms.uploadDevices(body)
                : await this.kdms.deleteDevices(body);
          } catch (error) {
            return this.unanswered(intent, error);
          }
          return this.confirm(intent.id, accepted.uploadId);
        },
        SUBMIT_LOCK,
      );
    } catch (error) {
      if (!accepted || !(error instanceof SharedStoreError)) throw error;
      // KDMS has the operation and Fleetgraph has the job; only the link between them is not stored yet.
      this.unsaved.set(intent.id, accepted.uploadId);
      throw new SharedStoreError(
        error.reason,
        `KDMS accepted the ${operationWord(intent.operation)} (uploadId ${accepted.uploadId}) as job ${intent.id}, ` +
          `but ${error.message}. Fleetgraph records KDMS's answer as soon as the store is back; ask for ` +
          `uploadJob(id: "${intent.id}") then`,
        { jobId: intent.id, uploadId: accepted.uploadId },
        error,
      );
    }
  }

  /** Records the KDMS answers kept while the store was away (throws while it still is); returns how many. */
  async recordUnsaved(): Promise<number> {
    let recorded = 0;
    for (const [jobId, uploadId] of [...this.unsaved]) {
      await this.confirm(jobId, uploadId);
      this.unsaved.delete(jobId);
      recorded += 1;
    }
    return recorded;
  }

  /** A retry with the same key: the job it made, provided it is the same batch. */
  private replay(earlier: UploadJob, request: SubmitRequest): UploadJob {
    const sameBatch =
      earlier.operation === request.operation &&
      deviceSetKey(earlier.identifiers) === deviceSetKey(request.identifiers) &&
      deviceSetKey(earlier.targetServices) === deviceSetKey(request.targetServices);
    if (!sameBatch) throw new IdempotencyKeyReusedError(earlier, request.idempotencyKey ?? '');
    return earlier;
  }

  /** KDMS's call failed: forget the job if KDMS certainly did not take it, else keep it UNCONFIRMED. */
  private async unanswered(intent: UploadJob, error: unknown): Promise<UploadJob> {
    if (kdmsDidNotTakeIt(error)) {
      await this.store.remove(intent).catch((removal: unknown) =>
        // Left UNCONFIRMED, the poller's read of KDMS settles it (as FAILED).
        this.logger.warn({ jobId: intent.id, err: String(removal) }, 'could not remove a job KDMS refused'),
      );
      throw error;
    }
    this.logger.warn(
      { jobId: intent.id, err: error instanceof Error ? error.message : String(error) },
      'KDMS may have taken the operation, but its answer was lost: the job stays UNCONFIRMED',
    );
    // A callback may have come already (it is kept until a job claims it).
    const job = await this.reconcile(intent.id).catch(() => null);
    if (job && job.status !== 'UNCONFIRMED') return job;
    throw new UnconfirmedSubmissionError(job ?? intent, error);
  }

  /** KDMS named the job's uploadId: the job is PENDING under it, and a callback that came first applies. */
  private confirm(jobId: string, uploadId: string): Promise<UploadJob> {
    return this.serially(`upload:${uploadId}`, () =>
      this.serially(`job:${jobId}`, async () => {
        let job = await this.store.get(jobId);
        if (!job) throw new Error(`upload job ${jobId} is no longer in the store`);
        if (job.uploadId === null) {
          job = {
            ...job,
            uploadId,
            status: job.status === 'UNCONFIRMED' ? 'PENDING' : job.status,
            version: job.version + 1,
          };
          await this.save(job);
        } else if (job.uploadId !== uploadId) {
          this.logger.warn(
            { jobId, uploadId, matched: job.uploadId },
            "KDMS's answer names another uploadId than the callback matched to this job",
          );
          return job;
        }
        const early = await this.store.takeEarlyEvent(uploadId);
        return early ? (await this.applyInLock(job, early)).job : job;
      }),
    );
  }

  /** Applies a verified callback. Safe to call again with the same event, or for a job not known yet. */
  applyCallback(notification: JobCallback): Promise<CallbackOutcome> {
    const uploadId = notification.data.uploadId;
    return this.serially(`upload:${uploadId}`, async () => {
      if (await this.store.isEventApplied(notification.eventId)) return 'duplicate';
      const known = (await this.store.byUploadId(uploadId)) ?? (await this.adoptFor(notification));
      if (!known) {
        await this.store.keepEarlyEvent(notification);
        await this.store.markEventApplied(notification.eventId);
        // Usually a callback that beat KDMS's 202; also what a job store that lost its records (a flushed
        // Redis) looks like. No job is made up from it: it waits, reconcilable, for a job to claim it.
        this.logger.warn(
          { uploadId, eventId: notification.eventId, keptHours: EARLY_EVENT_TTL_MS / 3_600_000 },
          'callback for an upload no job knows: kept for a job that learns this uploadId (its 202 or a matching ' +
            'UNCONFIRMED job); if the job store lost records (e.g. Redis flushed), this callback is the only trace',
        );
        return 'early';
      }
      return this.serially(`job:${known.id}`, async () => {
        const job = (await this.store.get(known.id)) ?? known;
        return (await this.applyInLock(job, notification)).outcome;
      });
    });
  }

  /**
   * The UNCONFIRMED job a callback with an unknown uploadId belongs to: the oldest of the same
   * operation with exactly the callback's devices, whose KDMS call is over. It adopts the uploadId.
   * Runs under `upload:<uploadId>`.
   */
  private async adoptFor(notification: JobCallback): Promise<UploadJob | null> {
    const uploadId = notification.data.uploadId;
    const operation = callbackOperation(notification);
    const devices = callbackDeviceKey(notification);
    const candidates = (await this.store.open())
      .filter(
        (job) =>
          job.status === 'UNCONFIRMED' &&
          job.uploadId === null &&
          (operation === null || job.operation === operation) &&
          deviceSetKey(job.identifiers) === devices,
      )
      .reverse(); // oldest first
    for (const candidate of candidates) {
      // Still asking KDMS: its own answer names its uploadId, and this callback may be another job's.
      if (await this.locks.isHeld(`submit:${candidate.id}`)) continue;
      const adopted = await this.serially(`job:${candidate.id}`, async () => {
        const job = await this.store.get(candidate.id);
        if (!job || job.uploadId === uploadId) return job;
        if (job.status !== 'UNCONFIRMED' || job.uploadId !== null) return null;
        return this.adopt(job, uploadId);
      });
      if (adopted) return adopted;
    }
    return null;
  }

  /**
   * An UNCONFIRMED job whose KDMS call is over takes a kept callback that reports its devices, if one
   * came (before the job's call ended, or while no job could take it). Returns the job as it is then.
   */
  private async reconcile(jobId: string): Promise<UploadJob | null> {
    const job = await this.store.get(jobId);
    if (!job || job.status !== 'UNCONFIRMED' || job.uploadId !== null) return job;
    for (const uploadId of await this.store.earlyEventsFor(job)) {
      const taken = await this.serially(`upload:${uploadId}`, async () => {
        if (await this.store.byUploadId(uploadId)) return null; // another job's
        return this.serially(`job:${jobId}`, async () => {
          const current = await this.store.get(jobId);
          if (!current || current.status !== 'UNCONFIRMED' || current.uploadId !== null) return current;
          const early = await this.store.takeEarlyEvent(uploadId);
          if (!early) return null;
          const operation = callbackOperation(early);
          if (operation !== null && operation !== current.operation) {
            await this.store.keepEarlyEvent(early); // the other operation's: leave it
            return null;
          }
          return (await this.applyInLock(await this.adopt(current, uploadId), early)).job;
        });
      });
      if (taken) return taken;
    }
    return this.store.get(jobId);
  }

  private async adopt(job: UploadJob, uploadId: string): Promise<UploadJob> {
    this.logger.info(
      { jobId: job.id, uploadId },
      'an UNCONFIRMED job is matched to its KDMS operation by its devices',
    );
    return this.save({ ...job, uploadId, status: 'PENDING', version: job.version + 1 });
  }

  /** Under the job's lock; the job has its uploadId (found by it, or adopted it). */
  private async applyInLock(
    job: UploadJob,
    notification: JobCallback,
  ): Promise<{ job: UploadJob; outcome: CallbackOutcome }> {
    const expected = job.operation === 'UPLOAD' ? KWN_EVENTS.upload : KWN_EVENTS.delete;
    // The event name is part of the assumed body: a callback without one does not contradict the job.
    const otherEvent = notification.eventType !== null && notification.eventType !== expected;
    // A callback is authoritative over a poll (it carries KDMS's reasons); nothing overrides a callback.
    if (otherEvent || job.settledBy === 'WEBHOOK') {
      await this.store.markEventApplied(notification.eventId);
      return { job, outcome: 'stale' };
    }
    const next = settleFromCallback(job, notification);
    return { job: await this.save(next, notification.eventId), outcome: 'applied' };
  }

  /**
   * Settles what the callbacks have not: an UNCONFIRMED job whose call is over first takes a kept
   * callback that matches it; then every open job submitted more than `timeoutMs` ago is settled by
   * reading KDMS. Returns how many were settled by reading KDMS.
   */
  async settleOverdue(timeoutMs: number): Promise<number> {
    let polled = 0;
    for (const job of await this.store.open()) {
      if (job.status === 'UNCONFIRMED') {
        if (await this.locks.isHeld(`submit:${job.id}`)) continue;
        const reconciled = await this.reconcile(job.id);
        if (reconciled?.status !== 'UNCONFIRMED') continue;
      }
      if (Date.now() - Date.parse(job.submittedAt) < timeoutMs) continue;
      const result = await this.settleByPolling(job.id);
      if (result && result.settledBy === 'POLLING' && result.version > job.version) polled += 1;
    }
    return polled;
  }

  /** Settles a job from what KDMS holds now; used when its callback is overdue. */
  settleByPolling(id: string): Promise<UploadJob | null> {
    return this.serially(`job:${id}`, async () => {
      const job = await this.store.get(id);
      if (!job || isSettled(job)) return job;
      if (job.status === 'UNCONFIRMED' && (await this.locks.isHeld(`submit:${id}`))) return job;
      const unconfirmed = job.status === 'UNCONFIRMED';
      const registrations =
        job.operation === 'UPLOAD' && job.uploadId
          ? await this.registrationsOfUpload(job.uploadId)
          : await this.registrationsOf(job.identifiers);
      const held = new Set(
        registrations
          .flatMap((r) => [r.imei, r.secondaryImei, r.serialNumber])
          .filter((i): i is string => !!i),
      );
      const lost = unconfirmed
        ? "KDMS's answer to the operation was lost and its callback never came"
        : 'its callback, which would say why, never arrived';
      const failures: DeviceFailure[] = [];
      for (const identifier of job.identifiers) {
        const ok = job.operation === 'UPLOAD' ? held.has(identifier) : !held.has(identifier);
        if (ok) continue;
        failures.push(
          job.operation === 'UPLOAD'
            ? {
                identifier,
                code: 'NOT_REGISTERED',
                message: `KDMS holds no device with this id for the upload; ${lost}`,
              }
            : { identifier, code: 'STILL_REGISTERED', message: `KDMS still holds this device; ${lost}` },
        );
      }
      const uploadId = job.uploadId ?? (await this.uploadIdRegisteredBy(job, registrations));
      return this.save(settled({ ...job, uploadId }, failures, 'POLLING', new Date().toISOString()));
    });
  }

  /**
   * The uploadId of an UNCONFIRMED upload, when what KDMS holds says it unambiguously: every device
   * found was registered after the job was submitted, all by one operation no other job has.
   */
  private async uploadIdRegisteredBy(
    job: UploadJob,
    registrations: DeviceRegistration[],
  ): Promise<string | null> {
    if (job.operation !== 'UPLOAD' || registrations.length === 0) return null;
    const after = Date.parse(job.submittedAt);
    const ids = new Set(registrations.map((r) => r.uploadId));
    const [only] = ids;
    if (ids.size !== 1 || !only) return null;
    if (!registrations.every((r) => r.uploadedAt !== null && Date.parse(r.uploadedAt) >= after)) return null;
    return (await this.store.byUploadId(only)) ? null : only;
  }

  /** The job now, then every later change, ending after the settled state (see JobWatch). */
  watch(id: string): JobWatch {
    // Attached before the first read, so no change is missed between the two.
    return new JobWatch(() => this.store.get(id), this.events.subscribe(id));
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

  private async registrationsOfUpload(uploadId: string): Promise<DeviceRegistration[]> {
    const found: DeviceRegistration[] = [];
    let searchAfter: string | undefined;
    do {
      const page = await this.kdms.getDevices({
        uploadId,
        pageSize: KDMS_MAX_PAGE_SIZE,
        ...(searchAfter ? { searchAfter } : {}),
      });
      found.push(...page.registrations);
      searchAfter = page.nextSearchAfter ?? undefined;
    } while (searchAfter);
    return found;
  }

  /** The registrations holding any of `identifiers` (getDevices by deviceIds, 1,000 ids per call). */
  private async registrationsOf(identifiers: string[]): Promise<DeviceRegistration[]> {
    const found: DeviceRegistration[] = [];
    for (let i = 0; i < identifiers.length; i += KDMS_MAX_IDS_PER_GET) {
      const chunk = new Set(identifiers.slice(i, i + KDMS_MAX_IDS_PER_GET));
      const page = await this.kdms.getDevices({ deviceIds: [...chunk], pageSize: KDMS_MAX_PAGE_SIZE });
      found.push(
        ...page.registrations.filter((r) =>
          [r.imei, r.secondaryImei, r.serialNumber].some((id) => id && chunk.has(id)),
        ),
      );
    }
    return found;
  }

  private async save(job: UploadJob, appliedEventId?: string): Promise<UploadJob> {
    // Before the job reads as settled: whoever sees it settled finds its devices in the index.
    if (this.onSettled && !OPEN_STATUSES.includes(job.status)) {
      try {
        await this.onSettled(job);
      } catch (error) {
        this.logger.warn(
          { jobId: job.id, err: error instanceof Error ? error.message : String(error) },
          'a settled job could not be passed on (the fleet index catches up at its next sync)',
        );
      }
    }
    await this.store.put(job, appliedEventId);
    this.events.publish(job);
    return job;
  }

  /** Told of each job as it settles, before its callback is answered (the fleet index's KDMS refresh). */
  onSettled: ((job: UploadJob) => Promise<void>) | null = null;

  private serially<T>(name: string, task: () => Promise<T>): Promise<T> {
    return this.locks.withLock(name, task, JOB_LOCK);
  }
}
