import { KWN_EVENTS, KwnKdmsEventNotification } from '../upstreams/kdms/kdms.wire.js';
import type { KdmsDeviceResult } from '../upstreams/kdms/kdms.wire.js';
import { deviceSetKey, settled } from './upload-job.js';
import type { DeviceFailure, UploadJob, UploadJobOperation } from './upload-job.js';

/**
 * A KDMS callback Fleetgraph can settle a job with: the wire contract (kdms.wire.ts, a tolerant reader)
 * plus what applying it needs. A signed body that fails here is refused with 400 and changes nothing;
 * Knox delivers it again or the poller settles the job from KDMS.
 *
 * - at least one result: a callback reports the devices of an operation, and every operation has some;
 * - each result says how it went: a `status`, or at least an `errorCode`. A result with neither is not
 *   a success (it used to count as one), and guessing a failure would be as wrong;
 * - each device once: one operation sends each id once, so a repeat is a broken body, not a second vote.
 */
export const JobCallback = KwnKdmsEventNotification.superRefine((notification, context) => {
  const { results } = notification.data;
  if (results.length === 0)
    context.addIssue({ code: 'custom', path: ['data', 'results'], message: 'no device results' });
  const seen = new Set<string>();
  results.forEach((result, index) => {
    if (result.status === null && result.errorCode === null)
      context.addIssue({
        code: 'custom',
        path: ['data', 'results', index],
        message: 'a result needs a status or an errorCode',
      });
    if (seen.has(result.deviceId))
      context.addIssue({
        code: 'custom',
        path: ['data', 'results', index, 'deviceId'],
        message: `${result.deviceId} is reported twice`,
      });
    seen.add(result.deviceId);
  });
});
export type JobCallback = KwnKdmsEventNotification;

/** The operation a callback reports, when it names its event (the event name is ASSUMED, so optional). */
export function callbackOperation(notification: JobCallback): UploadJobOperation | null {
  if (notification.eventType === KWN_EVENTS.upload) return 'UPLOAD';
  if (notification.eventType === KWN_EVENTS.delete) return 'DELETE';
  return null;
}

/** The devices a callback reports, as the key UNCONFIRMED jobs are matched by. */
export const callbackDeviceKey = (notification: JobCallback): string =>
  deviceSetKey(notification.data.results.map((r) => r.deviceId));

/** `status` decides (anything but SUCCESS failed); without one, the error code says it failed. */
const isFailure = (result: KdmsDeviceResult): boolean =>
  result.status !== null ? result.status.toUpperCase() !== 'SUCCESS' : true;

/**
 * The job settled by the callback. Counted per submitted identifier, so the counts are always within
 * 0..requested and add up: a result for a device the job did not send is ignored, and a device the
 * callback does not mention failed with NOT_REPORTED (the poller would not know better).
 */
export function settleFromCallback(job: UploadJob, notification: JobCallback): UploadJob {
  const results = new Map(notification.data.results.map((r) => [r.deviceId, r]));
  const failures: DeviceFailure[] = [];
  for (const identifier of job.identifiers) {
    const result = results.get(identifier);
    if (!result)
      failures.push({
        identifier,
        code: 'NOT_REPORTED',
        message: "KDMS's callback for this operation did not report this device",
      });
    else if (isFailure(result))
      failures.push({
        identifier,
        code: result.errorCode ?? 'UNKNOWN',
        message: result.errorMessage ?? '',
      });
  }
  return settled(job, failures, 'WEBHOOK', notification.eventTime ?? new Date().toISOString());
}
