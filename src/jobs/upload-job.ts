/**
 * An upload or delete of devices in KDMS, from the 202 to the callback (or poll) that settles it.
 * Stored in keyv (the `jobs` store, a file by default) so that a restart or another replica knows it.
 */
export type UploadJobOperation = 'UPLOAD' | 'DELETE';
export type UploadJobStatus = 'PENDING' | 'COMPLETED' | 'PARTIALLY_COMPLETED' | 'FAILED';
export type UploadJobSettlement = 'WEBHOOK' | 'POLLING';

export interface DeviceFailure {
  /** The IMEI or serial number as submitted. */
  identifier: string;
  /** KDMS's error code, e.g. IMEI_EXIST_IN_DIFFERENT_ACCOUNT. */
  code: string;
  message: string;
}

export interface UploadJob {
  /** KDMS's uploadId. */
  id: string;
  operation: UploadJobOperation;
  status: UploadJobStatus;
  targetServices: string[];
  /** Every distinct identifier sent, in order (the poller needs them). */
  identifiers: string[];
  /** Identifiers the caller gave more than once; each was sent once. */
  duplicates: string[];
  requested: number;
  succeeded: number | null;
  failed: number | null;
  failures: DeviceFailure[];
  settledBy: UploadJobSettlement | null;
  /** ISO 8601. */
  submittedAt: string;
  completedAt: string | null;
  /** Bumped on every change, so subscribers can drop stale events. */
  version: number;
}

export const isSettled = (job: UploadJob): boolean => job.status !== 'PENDING';

export function statusFor(succeeded: number, total: number): Exclude<UploadJobStatus, 'PENDING'> {
  if (succeeded === total) return 'COMPLETED';
  return succeeded === 0 ? 'FAILED' : 'PARTIALLY_COMPLETED';
}
