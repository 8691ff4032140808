import {
  imeiProblem,
  isValidSerialNumber,
  IMEI_PATTERN,
  SERIAL_NUMBER_PATTERN,
} from '../domain/device-identifiers.js';
import { KDMS_MAX_DEVICES_PER_OPERATION } from '../upstreams/kdms/kdms.wire.js';

/**
 * Validation of a batch of devices before anything reaches KDMS: every identifier is checked, every
 * problem is reported (value and reason), and a batch with any problem is refused whole.
 */
export interface DeviceBatch {
  imeis?: string[] | null;
  serialNumbers?: string[] | null;
}

export interface InvalidItem {
  field: 'imeis' | 'serialNumbers' | 'input';
  index: number | null;
  value: string;
  reason: string;
}

export type BatchValidation =
  | { ok: true; identifiers: string[]; duplicates: string[] }
  | { ok: false; invalidItems: InvalidItem[]; message: string };

/** One KDMS upload or delete takes at most this many ids; larger batches are refused, not split, so one job is one KDMS operation. */
export const MAX_DEVICES_PER_BATCH = KDMS_MAX_DEVICES_PER_OPERATION;

const IMEI_REASONS = {
  NOT_15_DIGITS: 'an IMEI is 15 digits',
  BAD_CHECK_DIGIT: 'the last digit is not the Luhn check digit of the first 14',
} as const;

export function validateDeviceBatch(batch: DeviceBatch): BatchValidation {
  const imeis = batch.imeis ?? [];
  const serials = batch.serialNumbers ?? [];
  const invalidItems: InvalidItem[] = [];
  imeis.forEach((value, index) => {
    const problem = imeiProblem(value);
    if (problem) invalidItems.push({ field: 'imeis', index, value, reason: IMEI_REASONS[problem] });
  });
  serials.forEach((value, index) => {
    if (IMEI_PATTERN.test(value))
      invalidItems.push({
        field: 'serialNumbers',
        index,
        value,
        reason: 'this is an IMEI; pass it in imeis',
      });
    else if (!isValidSerialNumber(value)) {
      invalidItems.push({
        field: 'serialNumbers',
        index,
        value,
        reason: `a serial number is 8 to 20 upper-case letters and digits (${SERIAL_NUMBER_PATTERN.source})`,
      });
    }
  });
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const value of [...imeis, ...serials]) {
    if (seen.has(value)) duplicates.add(value);
    seen.add(value);
  }
  if (seen.size === 0)
    invalidItems.push({
      field: 'input',
      index: null,
      value: '',
      reason: 'give at least one IMEI or serial number',
    });
  if (seen.size > MAX_DEVICES_PER_BATCH) {
    invalidItems.push({
      field: 'input',
      index: null,
      value: String(seen.size),
      reason: `at most ${MAX_DEVICES_PER_BATCH} distinct devices per batch (one KDMS operation); split the batch`,
    });
  }
  if (invalidItems.length > 0) {
    const shown = invalidItems.slice(0, 5).map((i) => (i.value ? `${i.value}: ${i.reason}` : i.reason));
    const more = invalidItems.length > 5 ? ` and ${invalidItems.length - 5} more` : '';
    return {
      ok: false,
      invalidItems,
      message: `Nothing was sent to KDMS: ${invalidItems.length} invalid item(s): ${shown.join('; ')}${more}`,
    };
  }
  return { ok: true, identifiers: [...seen], duplicates: [...duplicates] };
}
