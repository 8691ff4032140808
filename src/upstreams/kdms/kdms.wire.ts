/**
 * Knox Device Management Service (KDMS), Knox cloud OAuth 2.0 and Knox Webhook Notification (KWN):
 * the JSON exactly as it crosses the wire. The emulator and KdmsClient both import this module, so
 * it is the one place where the contract is written.
 *
 * What is documented (../shared/upstreams.md §0–2): the token endpoint and its form fields, the
 * `kdms.devices[:upload|:delete|:read]` scopes, the three operation paths, `targetServices: ["KAI"]`,
 * `uploadId`/`searchAfter`/`pageSize` as getDevices inputs, the string error codes under HTTP 400,
 * the KWN subscription paths, the two event names and `GET /downloadCertificate`.
 * Everything marked ASSUMED is our choice where public material is silent.
 */

// ---- paths ---------------------------------------------------------------------------------------

/** Token endpoint on the Knox cloud host (documented). */
export const KDMS_TOKEN_PATH = '/ams/v1/oauth2/token';
/** ASSUMED service prefix, by analogy with `/kai/v1` and `/kwn/v1`; configurable through `KDMS_URL`. */
export const KDMS_API_PREFIX = '/kdms/v1';
/** Operation paths relative to the API prefix (documented). */
export const KDMS_PATHS = {
  upload: '/devices/upload',
  getDevices: '/devices/getDevices',
  delete: '/devices/delete',
} as const;
export const KWN_SUBSCRIPTIONS_PATH = '/kwn/v1/subscriptions';
export const KWN_CERTIFICATE_PATH = '/downloadCertificate';

// ---- OAuth 2.0 client credentials ----------------------------------------------------------------

export const KDMS_SCOPES = {
  all: 'kdms.devices',
  upload: 'kdms.devices:upload',
  delete: 'kdms.devices:delete',
  read: 'kdms.devices:read',
  kaiDelete: 'kdms.kai.devices:delete',
} as const;
export type KdmsScope = (typeof KDMS_SCOPES)[keyof typeof KDMS_SCOPES];

/** Form fields of `POST /ams/v1/oauth2/token` (application/x-www-form-urlencoded). */
export interface KnoxTokenRequest {
  grant_type: 'client_credentials';
  client_id: string;
  client_secret: string;
  /** Space-separated scopes; omitted means every scope the client was granted. */
  scope?: string;
  /** Seconds; documented as extendable "up to 60 minutes". */
  expires_in?: string;
}

export interface KnoxTokenResponse {
  access_token: string;
  scope: string;
  expires_in: number;
  token_type: 'Bearer';
}

/** RFC 6749 §5.2 error body. ASSUMED: Knox's exact body is not published. */
export interface OAuthErrorResponse {
  error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';
  error_description: string;
}

/** Documented default lifetime (10 minutes) and the documented maximum (60 minutes). */
export const KNOX_TOKEN_DEFAULT_TTL_SECONDS = 600;
export const KNOX_TOKEN_MAX_TTL_SECONDS = 3600;

// ---- devices -------------------------------------------------------------------------------------

export const KDMS_TARGET_SERVICES = ['KAI'] as const;
export type KdmsTargetService = (typeof KDMS_TARGET_SERVICES)[number];

/** ASSUMED limits: one upload/delete carries at most 10,000 ids (the size of the KWN tutorial's worked
 * example and of E-FOTA's bulk upload); getDevices filters by at most 1,000 ids and pages at most 1,000. */
export const KDMS_MAX_DEVICES_PER_OPERATION = 10_000;
export const KDMS_MAX_IDS_PER_GET = 1_000;
export const KDMS_MAX_PAGE_SIZE = 1_000;
export const KDMS_DEFAULT_PAGE_SIZE = 100;

/** Body of `POST /devices/upload` and `POST /devices/delete`. ASSUMED field name `deviceIds` (the name KAI
 * and Knox Configure use for "IMEIs or serial numbers"). */
export interface KdmsDeviceOperationRequest {
  deviceIds: string[];
  targetServices: KdmsTargetService[];
}

/** HTTP 202 body of upload and delete. ASSUMED: KDMS documents 202 and that getDevices filters by the
 * upload's id; we name that id `uploadId` for both operations. */
export interface KdmsOperationAccepted {
  uploadId: string;
  status: 'IN_PROGRESS';
  deviceCount: number;
}

/** Body of `POST /devices/getDevices`. Filters combine with AND. */
export interface KdmsGetDevicesRequest {
  uploadId?: string;
  /** IMEIs (primary or secondary) or serial numbers. */
  deviceIds?: string[];
  /** The `deviceId` of the last device of the previous page (documented semantics). */
  searchAfter?: string;
  pageSize?: number;
}

/** One device as getDevices returns it. ASSUMED names for the documented attributes
 * (device ID, customer ID, primary and secondary IMEI, serial number, MEID, model name). */
export interface KdmsDevice {
  deviceId: string;
  customerId: string;
  imei: string | null;
  secondaryImei: string | null;
  serialNumber: string | null;
  meid: string | null;
  modelName: string | null;
  uploadId: string;
  targetServices: KdmsTargetService[];
  /** ISO 8601. */
  uploadedAt: string;
}

export interface KdmsGetDevicesResponse {
  devices: KdmsDevice[];
  /** Devices matching the filters, over all pages. */
  totalCount: number;
  /** Pass as `searchAfter` for the next page; null on the last page (ASSUMED, as Knox Configure v2). */
  nextSearchAfter: string | null;
}

// ---- errors --------------------------------------------------------------------------------------

/** The documented custom codes (returned under HTTP 400, and per device in webhook results), then
 * ASSUMED generic codes for 401/403/404/429 bodies. `%s` stands for the device id. */
export const KDMS_ERROR_CODES = {
  INVALID_PARAM: 'Invalid parameter(s) provided',
  INTERNAL_SERVER_ERROR: 'Internal Server Error',
  INVALID_DEVICE_ID: "Couldn't upload device with ID: (%s)",
  IMEI_EXIST_IN_DIFFERENT_ACCOUNT: 'Device IMEI (%s) already uploaded to another account',
  UNAUTHORIZED: 'Access token is missing, invalid or expired',
  FORBIDDEN: 'Access token lacks the scope this operation requires',
  NOT_FOUND: 'Not found',
  TOO_MANY_REQUESTS: 'Too many requests',
} as const;
export type KdmsErrorCode = keyof typeof KDMS_ERROR_CODES;
/** The documented second wording of INVALID_DEVICE_ID, used when deleting an id KDMS does not hold. */
export const KDMS_DEVICE_NOT_FOUND_MESSAGE = "Couldn't find device with ID: (%s)";

export function kdmsErrorMessage(template: string, deviceId: string): string {
  return template.replace('%s', deviceId);
}

/** ASSUMED error envelope (the page shows codes and messages, not field names). */
export interface KdmsErrorResponse {
  code: KdmsErrorCode;
  message: string;
  /** Which parameter or ids were at fault, when there are any. */
  details?: string[];
}

// ---- Knox Webhook Notification -------------------------------------------------------------------

export const KWN_EVENTS = {
  upload: 'KDMS_DEVICE_UPLOAD',
  delete: 'KDMS_DEVICE_DELETE',
} as const;
export type KwnKdmsEvent = (typeof KWN_EVENTS)[keyof typeof KWN_EVENTS];

/** ASSUMED subscription body: the docs name "the subscription URL or 'callback'" and "a set of events". */
export interface KwnSubscriptionRequest {
  callbackUrl: string;
  events: string[];
  description?: string;
}

export interface KwnSubscription {
  subscriptionId: string;
  callbackUrl: string;
  events: string[];
  description: string | null;
  status: 'ACTIVE';
  createdAt: string;
  updatedAt: string;
}

export interface KwnSubscriptionList {
  subscriptions: KwnSubscription[];
}

/** KWN's own error body (400 "Validation error", 404 on unknown ids). */
export interface KwnErrorResponse {
  code: 'VALIDATION_ERROR' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'FORBIDDEN';
  message: string;
}

/** Headers of a callback: a compact JWS whose payload is the base64url of the raw body, signed RS256 with
 * the key of the certificate at `GET /downloadCertificate` (third-party receivers; ASSUMED otherwise). */
export const KWN_SIGNATURE_HEADER = 'x-wsm-signature';
export const KWN_TRACE_ID_HEADER = 'x-wsm-traceid';
export const KWN_SIGNATURE_ALGORITHM = 'RS256';

export type KdmsDeviceResultStatus = 'SUCCESS' | 'FAILURE';

export interface KdmsDeviceResult {
  /** The IMEI or serial number as it was submitted. */
  deviceId: string;
  status: KdmsDeviceResultStatus;
  errorCode?: KdmsErrorCode;
  errorMessage?: string;
}

/** ASSUMED callback body for `KDMS_DEVICE_UPLOAD` / `KDMS_DEVICE_DELETE` (no public sample exists). */
export interface KwnKdmsEventNotification {
  eventId: string;
  eventType: KwnKdmsEvent;
  /** ISO 8601 time the operation finished. */
  eventTime: string;
  customerId: string;
  data: {
    uploadId: string;
    status: 'COMPLETED' | 'PARTIALLY_COMPLETED' | 'FAILED';
    targetServices: KdmsTargetService[];
    totalCount: number;
    successCount: number;
    failureCount: number;
    results: KdmsDeviceResult[];
  };
}
