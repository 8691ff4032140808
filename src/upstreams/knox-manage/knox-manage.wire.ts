/**
 * Knox Manage Open API: the JSON and form fields exactly as they cross the wire, shared by the
 * emulator and KnoxManageClient. Sources: ../shared/seeds (the Open API reference) and
 * ../shared/upstreams.md §4. Everything marked ASSUMED is our choice where public material is silent.
 *
 * Conventions (documented or seen in every public caller): requests are form-encoded POSTs; every
 * answer is the envelope `{resultCode, resultMessage, resultValue}` with `resultCode` a string and
 * "0" meaning success; business errors come back as HTTP 200 with a non-zero `resultCode` (ASSUMED).
 */

export const KNOX_MANAGE_TOKEN_PATH = '/emm/oauth/token';
export const KNOX_MANAGE_API_PREFIX = '/emm/oapi';
export const KNOX_MANAGE_PATHS = {
  selectDeviceList: '/device/selectDeviceList',
  selectDeviceInfoByImei: '/device/selectDeviceInfoByImei',
  selectDeviceInfoBySerialNumber: '/device/selectDeviceInfoBySerialNumber',
  selectDevicesByUser: '/device/selectDevicesByUser',
  /** Public callers use it as a GET; we accept GET and POST. */
  selectUsers: '/user/selectUsers',
  authenticate: '/auth/authenticate',
} as const;

// ---- OAuth 2.0 client credentials ----------------------------------------------------------------

/** Form fields of `POST /emm/oauth/token`; the client id is `<clientId>@<tenant domain>`. */
export interface KnoxManageTokenRequest {
  grant_type: 'client_credentials';
  client_id: string;
  client_secret: string;
}

/** Documented sample: `{access_token, token_type: "bearer", expires_in, scope: "read"}`. */
export interface KnoxManageTokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/** ASSUMED Spring-OAuth style error body (one public caller reads `error`/`error_description`). */
export interface KnoxManageOAuthError {
  error: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_token';
  error_description: string;
}

// ---- envelope and result codes -------------------------------------------------------------------

export interface KnoxManageEnvelope<T> {
  resultCode: string;
  resultMessage: string;
  resultValue: T | null;
}

export const KNOX_MANAGE_SUCCESS = '0';
export const KNOX_MANAGE_SUCCESS_MESSAGE = 'No Error';

/** Open API validation codes from the Knox Manage console error list (documented), then ASSUMED codes
 * for outcomes the list does not cover. `%d`/`%s` are filled in by `knoxManageMessage`. */
export const KNOX_MANAGE_RESULT_CODES = {
  '-102': 'Null or Empty string',
  '-103': 'Null object',
  '-104': 'Not a number (integer)',
  '-105': 'The number must be greater than %d',
  '-106': 'The number must be less than %d',
  '-107': 'The number must be between %d and %d',
  '-108': 'The string length must be greater than %d',
  '-109': 'The string length must be less than %d',
  '-110': 'The data must be in a %s format',
  '-111': 'The start-date should be before the end date',
  '-112': 'The string should match %s',
  /** ASSUMED */
  '-201': 'The device does not exist.',
  /** ASSUMED */
  '-202': 'The user does not exist.',
  /** ASSUMED: wrong password or inactive user; deliberately does not say which. */
  '-203': 'The user ID or password is incorrect.',
} as const;
export type KnoxManageResultCode = keyof typeof KNOX_MANAGE_RESULT_CODES;

export function knoxManageMessage(code: KnoxManageResultCode, ...args: Array<string | number>): string {
  let message: string = KNOX_MANAGE_RESULT_CODES[code];
  for (const arg of args) message = message.replace(/%[ds]/, String(arg));
  return message;
}

/** Documented rate limit for `/emm/oapi/*` (25.07): 1,800 requests a minute, then HTTP 429. */
export const KNOX_MANAGE_REQUESTS_PER_MINUTE = 1800;

// ---- devices -------------------------------------------------------------------------------------

/** Documented: `limit` is 1..1000 with default 1000. `start` is documented as "Page indexing begins from 0",
 * but every public caller pages with `start += limit`, so we treat it as a 0-based row offset (ASSUMED). */
export const KNOX_MANAGE_MAX_LIMIT = 1000;

/** Documented device status codes (case sensitive). */
export const KNOX_MANAGE_DEVICE_STATUSES = {
  I: 'Deactivated',
  P: 'Provisioned',
  A: 'Activated',
  B: 'Blocked',
  BS: 'Blocked (system)',
  BA: 'Blocked (admin)',
  BL: 'License expired',
} as const;
export type KnoxManageDeviceStatus = keyof typeof KNOX_MANAGE_DEVICE_STATUSES;

/** Documented: user ids allow letters, digits and `_ : . - +`, at most 50 characters. */
export const KNOX_MANAGE_USER_ID_PATTERN = /^[A-Za-z0-9_:.\-+]{1,50}$/;

/** Form fields of `selectDeviceList`; numbers travel as strings. */
export interface KnoxManageDeviceListRequest {
  start?: string;
  limit?: string;
  userId?: string;
  deviceStatus?: KnoxManageDeviceStatus;
}

/** Java `Date` as the API serialises it. */
export interface KnoxManageDate {
  time: number;
}

/** One device as public callers read it; every scalar is a string (as seen in their typings). */
export interface KnoxManageDevice {
  deviceId: string;
  mobileId: string;
  imei: string;
  secondaryImei: string;
  serialNumber: string;
  userId: string;
  userName: string;
  email: string;
  phone: string;
  deviceStatus: KnoxManageDeviceStatus;
  deviceModel: string;
  deviceModelKind: string;
  /** "A" Android, "I" iOS, "W" Windows. */
  platform: string;
  lastConnectionDate: KnoxManageDate | null;
  stdFormatLastConnectionDate: string;
  deviceTags: Array<{ tagValue: string }>;
  isDeviceLock: string;
  orgName: string;
  orgCode: string;
}

/** `selectDeviceInfoBy*` adds per-device detail to the list fields. */
export interface KnoxManageDeviceInfo extends KnoxManageDevice {
  iccid: string;
  battery: string;
  wifiIpAddress: string;
  isRoaming: 'Roaming' | 'NotRoaming';
  isContainMalware: 'Y' | 'N';
  isRooting: 'Y' | 'N';
  simStatus: string;
}

export interface KnoxManageDeviceListValue {
  total: number;
  deviceList: KnoxManageDevice[];
}

// ---- users ---------------------------------------------------------------------------------------

export interface KnoxManageUser {
  userId: string;
  userName: string;
  email: string;
  /** ASSUMED: "A" active, "I" inactive. */
  userStatus: 'A' | 'I';
  orgName: string;
  orgCode: string;
}

/** ASSUMED paging for selectUsers, as selectDeviceList's (`start` offset, `limit` ≤ 1000). */
export interface KnoxManageUserListValue {
  total: number;
  users: KnoxManageUser[];
}

/** Documented rules for `userPassword`: 8–30 characters with a digit, a letter and a special character. */
export const KNOX_MANAGE_PASSWORD_RULES = {
  minLength: 8,
  maxLength: 30,
  digit: /[0-9]/,
  letter: /[A-Za-z]/,
  special: /[^0-9A-Za-z]/,
} as const;

/** ASSUMED: the documented sample shows only that a success carries a `resultValue` object. */
export interface KnoxManageAuthenticationValue {
  userId: string;
  userName: string;
  email: string;
}
