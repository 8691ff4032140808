/**
 * Red Hat Mobile Application Platform ("Box") admin API, devices: the JSON exactly as it crosses the
 * wire, shared by the emulator and BoxClient. Sources: ../shared/seeds (Platform API, chapter 6) and
 * ../shared/upstreams.md §5. Everything marked ASSUMED is our choice where public material is silent.
 */

export const BOX_API_PREFIX = '/box/srv/1.1/admin';
export const BOX_PATHS = {
  /** Documented as POST; the official `fhc` CLI sends GET. Both are accepted. */
  list: '/device/list',
  read: '/device/read',
  update: '/device/update',
  listApps: '/device/listapps',
  listUsers: '/device/listusers',
} as const;

/** "X-FH-AUTH-USER should be in every header of every request" (documented). */
export const BOX_API_KEY_HEADER = 'x-fh-auth-user';

export interface BoxOk {
  status: 'ok';
}

/** Documented error envelope; `fhc` also reads `msg`, which we never send. */
export interface BoxErrorResponse {
  status: 'error';
  message: string;
}

export interface BoxDeviceFields {
  /** The id the device assigned itself; Fleetgraph's devices use their IMEI or serial number. */
  cuid: string;
  name: string;
  /** Documented: "Is this device currently blocked from logging in". */
  disabled: boolean;
  /** Documented: "Should data be purged from apps the next time the device authenticates". */
  blacklisted: boolean;
  /** Real records carry more fields (`fhc` fixtures); clients must ignore what they do not know. */
  domain?: string;
  sysCreated?: string;
  sysModified?: string;
  sysVersion?: number;
}

export interface BoxDeviceRecord {
  guid: string;
  type?: string;
  fields: BoxDeviceFields;
}

/** `count` is the total number of devices (the documented "total device count"). ASSUMED: list has no
 * paging parameters (none are documented), so one call returns the whole fleet. */
export interface BoxDeviceListResponse extends BoxOk {
  count: number;
  list: BoxDeviceRecord[];
}

export interface BoxCuidRequest {
  cuid: string;
}

export type BoxDeviceReadResponse = BoxOk & BoxDeviceRecord;

/** Optional fields that are absent stay as they are (ASSUMED: the doc's "DEFAULT=false" describes new
 * devices; the RHMAP studio sends one field at a time and expects the others kept). */
export interface BoxDeviceUpdateRequest extends BoxCuidRequest {
  name?: string;
  disabled?: boolean;
  blacklisted?: boolean;
}

export interface BoxAppRecord {
  guid: string;
  fields: { name: string; description: string };
}

export interface BoxDeviceUserRecord {
  guid: string;
  fields: { userId: string; email: string };
}

export interface BoxListResponse<T> extends BoxOk {
  count: number;
  list: T[];
}

/** ASSUMED error messages and HTTP statuses (not documented): 401 for a missing or unknown API key,
 * 400 for a malformed body, 404 for an unknown cuid. */
export const BOX_ERROR_MESSAGES = {
  unauthorised: 'Unauthorised: a valid X-FH-AUTH-USER API key is required',
  badBody: 'Request body must be a JSON object',
  missingCuid: 'Missing required parameter: cuid',
  badField: 'Invalid value for %s',
  notFound: 'Device not found: %s',
} as const;
