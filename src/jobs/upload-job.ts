import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * An upload or delete of devices in KDMS, from the moment Fleetgraph records it (before KDMS is called)
 * to the callback or the KDMS read that settles it. Kept in the job store (SQLite by default, Redis
 * with CACHE_URL), so that a restart, a crash or another replica knows it.
 *
 * Lifecycle:
 *   UNCONFIRMED  recorded, and sent to KDMS (or about to be); KDMS's answer is not known yet: the call is
 *                in flight, or its answer was lost (a timeout, a cut-off or unreadable 202, a crash)
 *   PENDING      KDMS accepted it (202) and named its uploadId; the callback has not come yet
 *   COMPLETED | PARTIALLY_COMPLETED | FAILED   settled by KDMS's callback, or by reading KDMS (getDevices)
 */
export const UPLOAD_JOB_STATUSES = [
  'UNCONFIRMED',
  'PENDING',
  'COMPLETED',
  'PARTIALLY_COMPLETED',
  'FAILED',
] as const;
export type UploadJobStatus = (typeof UPLOAD_JOB_STATUSES)[number];
export type UploadJobOperation = 'UPLOAD' | 'DELETE';
export type UploadJobSettlement = 'WEBHOOK' | 'POLLING';

/** Not settled yet: the poller and the callback matcher look at these. */
export const OPEN_STATUSES: readonly UploadJobStatus[] = ['UNCONFIRMED', 'PENDING'];

const isoTime = z.iso.datetime();
const nonNegative = z.number().int().min(0);

const DeviceFailureSchema = z.object({
  /** The IMEI or serial number as submitted. */
  identifier: z.string().min(1),
  /** KDMS's error code (e.g. IMEI_EXIST_IN_DIFFERENT_ACCOUNT), or Fleetgraph's when only a read settled it. */
  code: z.string().min(1),
  message: z.string(),
});
export type DeviceFailure = z.output<typeof DeviceFailureSchema>;

const UploadJobFields = z.object({
  /** Fleetgraph's id, made when the job is recorded. Jobs recorded before intents existed carry KDMS's uploadId here. */
  id: z.string().min(1),
  /** KDMS's operation id, once its 202 (or its callback, or a getDevices read) named it. */
  uploadId: z.string().min(1).nullable(),
  /** The caller's idempotency key: another submit with it (by the same caller) returns this job. */
  idempotencyKey: z.string().min(1).nullable(),
  /** The token subject that submitted it (null with caller auth off); the idempotency key's scope. */
  submittedBy: z.string().nullable(),
  operation: z.enum(['UPLOAD', 'DELETE']),
  status: z.enum(UPLOAD_JOB_STATUSES),
  targetServices: z.array(z.string()),
  /** Every distinct identifier sent, in order (the poller and the callback matcher need them). */
  identifiers: z.array(z.string().min(1)).min(1),
  /** Identifiers the caller gave more than once; each was sent once. */
  duplicates: z.array(z.string()),
  requested: nonNegative,
  succeeded: nonNegative.nullable(),
  failed: nonNegative.nullable(),
  failures: z.array(DeviceFailureSchema),
  settledBy: z.enum(['WEBHOOK', 'POLLING']).nullable(),
  submittedAt: isoTime,
  completedAt: isoTime.nullable(),
  /** Bumped on every change, so subscribers can drop stale events. */
  version: z.number().int().min(1),
});
export type UploadJob = z.output<typeof UploadJobFields>;

/**
 * A job as the store holds it, checked on every read (and before every write): a record that does not
 * fit is never served. Records written before jobs had ids of their own (id = KDMS's uploadId, no
 * uploadId field) are read as such.
 */
export const StoredUploadJob = z.preprocess(
  (value) =>
    typeof value === 'object' && value !== null && !('uploadId' in value)
      ? {
          idempotencyKey: null,
          submittedBy: null,
          ...value,
          uploadId: (value as { id?: unknown }).id,
        }
      : value,
  UploadJobFields.superRefine((job, context) => {
    const problem = (message: string, path: string) =>
      context.addIssue({ code: 'custom', message, path: [path] });
    if (job.requested !== job.identifiers.length) problem('is not the number of identifiers', 'requested');
    const open = OPEN_STATUSES.includes(job.status);
    if (open) {
      if (job.succeeded !== null || job.failed !== null || job.settledBy !== null || job.completedAt !== null)
        problem('an open job has no outcome yet', 'status');
    } else if (
      job.succeeded === null ||
      job.failed === null ||
      job.succeeded + job.failed !== job.requested ||
      job.failures.length !== job.failed ||
      job.settledBy === null ||
      job.completedAt === null
    )
      problem(
        'a settled job has counts that add up to requested, a failure per failed device and a time',
        'status',
      );
    if (job.status === 'PENDING' && job.uploadId === null)
      problem('a PENDING job has an uploadId', 'uploadId');
  }),
);

export const isSettled = (job: UploadJob): boolean => !OPEN_STATUSES.includes(job.status);

export function statusFor(
  succeeded: number,
  total: number,
): Exclude<UploadJobStatus, 'UNCONFIRMED' | 'PENDING'> {
  if (succeeded === total) return 'COMPLETED';
  return succeeded === 0 ? 'FAILED' : 'PARTIALLY_COMPLETED';
}

/**
 * The set of devices an operation named, as one key: how a callback or a KDMS read finds the UNCONFIRMED
 * job it belongs to when no uploadId links them (KDMS's 202 was lost). Order and repeats do not matter.
 */
export function deviceSetKey(identifiers: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const id of [...new Set(identifiers)].sort()) hash.update(id).update('\n');
  return hash.digest('hex');
}

/** The job settled with `failures`; every identifier not among them succeeded. */
export function settled(
  job: UploadJob,
  failures: DeviceFailure[],
  settledBy: UploadJobSettlement,
  completedAt: string,
): UploadJob {
  const succeeded = job.requested - failures.length;
  return {
    ...job,
    status: statusFor(succeeded, job.requested),
    succeeded,
    failed: failures.length,
    failures,
    settledBy,
    completedAt,
    version: job.version + 1,
  };
}
