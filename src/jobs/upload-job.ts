/**
 * An upload or delete of devices in KDMS, from the 202 to the webhook that settles it. Stored in keyv
 * (`jobs` store) so that a restart or another replica still knows it.
 */
export type UploadJobOperation = 'UPLOAD' | 'DELETE';
export type UploadJobStatus = 'PENDING' | 'COMPLETED' | 'PARTIALLY_COMPLETED' | 'FAILED';

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
  requested: number;
  succeeded: number | null;
  failed: number | null;
  failures: DeviceFailure[];
  /** ISO 8601. */
  submittedAt: string;
  completedAt: string | null;
}
