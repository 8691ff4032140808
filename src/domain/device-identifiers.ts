/**
 * Device identifiers as KDMS, Knox Manage and Box spell them, and the checks every layer shares
 * (the emulators' per-device upload results and the graph's upload validation use the same rules).
 */

/** An IMEI is 14 digits (TAC + serial) and a Luhn check digit: 15 digits in all. */
export const IMEI_PATTERN = /^\d{15}$/;

/**
 * Samsung serial numbers are 11 upper-case letters and digits (e.g. `R58N12ABCDE`); other makers use
 * 8 to 20. ASSUMED: KDMS publishes no pattern, so we accept the common form and nothing with spaces,
 * lower case or punctuation, which no manufacturer prints on a label.
 */
export const SERIAL_NUMBER_PATTERN = /^[A-Z0-9]{8,20}$/;

/** The Luhn check digit for a string of digits (the digit that makes the whole number pass). */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  // Walking from the right, every second digit (starting with the rightmost of the payload) is doubled.
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export type ImeiProblem = 'NOT_15_DIGITS' | 'BAD_CHECK_DIGIT';

/** Why `value` is not an IMEI, or null when it is one. */
export function imeiProblem(value: string): ImeiProblem | null {
  if (!IMEI_PATTERN.test(value)) return 'NOT_15_DIGITS';
  const expected = luhnCheckDigit(value.slice(0, 14));
  return value.charCodeAt(14) - 48 === expected ? null : 'BAD_CHECK_DIGIT';
}

export function isValidImei(value: string): boolean {
  return imeiProblem(value) === null;
}

export function isValidSerialNumber(value: string): boolean {
  return SERIAL_NUMBER_PATTERN.test(value) && !IMEI_PATTERN.test(value);
}

/** KDMS takes IMEIs and serial numbers in one list; this says which one a value is, if either. */
export function deviceIdentifierKind(value: string): 'IMEI' | 'SERIAL_NUMBER' | null {
  if (IMEI_PATTERN.test(value)) return isValidImei(value) ? 'IMEI' : null;
  return isValidSerialNumber(value) ? 'SERIAL_NUMBER' : null;
}

/** Completes a 14-digit IMEI payload with its check digit. */
export function withLuhnCheckDigit(payload14: string): string {
  return payload14 + String(luhnCheckDigit(payload14));
}
