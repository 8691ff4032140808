import { z } from 'zod';
import { OAuthErrorResponse, OAuthTokenRequest, OAuthTokenResponse } from '../auth/oauth.wire.js';
import { count, id, list, text, timestamp } from '../wire-schema.js';

/**
 * Knox Device Management Service (KDMS), Knox cloud OAuth 2.0 and Knox Webhook Notification (KWN),
 * written once as zod schemas: KdmsClient reads every answer through them, the emulator validates every
 * request with them, and the emulator's OpenAPI document (`GET /openapi.json`) is generated from them.
 *
 * What is documented (../shared/upstreams.md §0–2 and the KDMS tutorial, the only public text): the token
 * endpoint and its form fields, the `kdms.devices[:upload|:delete|:read]` scopes, the three operation
 * paths, `targetServices: ["KAI"]`, the upload id / IMEI-or-serial filters and `searchAfter`/`pageSize`
 * paging of getDevices, the device attributes it returns (device ID, customer ID of the device owner,
 * primary and secondary IMEI, serial number, MEID, model name), the string error codes under HTTP 400,
 * the KWN subscription paths, the two event names and `GET /downloadCertificate`.
 *
 * Everything else is ASSUMED: KDMS is in private preview and no public field list exists. Every JSON
 * name below is our choice; answer fields the tutorial does not name are optional (absent, null or
 * unreadable reads as null), and so is every named attribute except the few a record cannot do without:
 * a device's `deviceId` (getDevices pages after it) and an IMEI or serial number (nothing else joins it
 * to the other APIs), the 202's `uploadId` (jobs are stored under it), and a callback's `eventId`
 * (callbacks are applied once by it), `data.uploadId` and `data.results` with each result's submitted id.
 * Requests are what Fleetgraph sends and the emulator accepts, so they are strict.
 */

/** Named schemas of the emulator's OpenAPI document (`components.schemas`). */
export const kdmsRegistry = z.registry<{ id: string }>();

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

/** Form fields of `POST /ams/v1/oauth2/token` (application/x-www-form-urlencoded; documented). */
export const KnoxTokenRequest = OAuthTokenRequest.register(kdmsRegistry, { id: 'KnoxTokenRequest' });
/** Documented sample: `{access_token, scope, expires_in, token_type: "Bearer"}`. */
export const KnoxTokenResponse = OAuthTokenResponse.register(kdmsRegistry, { id: 'KnoxTokenResponse' });
export type KnoxTokenResponse = z.output<typeof KnoxTokenResponse>;
/** RFC 6749 §5.2 error body. ASSUMED: Knox's exact body is not published. */
export const KnoxOAuthError = OAuthErrorResponse.register(kdmsRegistry, { id: 'OAuthError' });

/** Documented default lifetime (10 minutes) and the documented maximum (60 minutes). */
export const KNOX_TOKEN_DEFAULT_TTL_SECONDS = 600;
export const KNOX_TOKEN_MAX_TTL_SECONDS = 3600;

// ---- limits --------------------------------------------------------------------------------------

export const KDMS_TARGET_SERVICES = ['KAI'] as const;
export type KdmsTargetService = (typeof KDMS_TARGET_SERVICES)[number];

/** ASSUMED limits: one upload/delete carries at most 10,000 ids (the size of the KWN tutorial's worked
 * example and of E-FOTA's bulk upload); getDevices filters by at most 1,000 ids and pages at most 1,000. */
export const KDMS_MAX_DEVICES_PER_OPERATION = 10_000;
export const KDMS_MAX_IDS_PER_GET = 1_000;
export const KDMS_MAX_PAGE_SIZE = 1_000;
export const KDMS_DEFAULT_PAGE_SIZE = 100;

// ---- shared pieces -------------------------------------------------------------------------------

/** A list of names (target services, event types); unreadable entries are left out. */
function names(description: string) {
  return list(text())
    .transform((values) => values.filter((value): value is string => value !== null))
    .meta({ 'x-wire': { type: 'array', items: { type: 'string' }, description } });
}

/**
 * The list an answer is about (`devices`, `subscriptions`): the key must be there, since an answer
 * without it is another shape, not an empty list; null reads as empty.
 */
function entries<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullable()
    .transform((values): Array<z.output<T>> => values ?? []);
}

// ---- upload and delete ---------------------------------------------------------------------------

/** Body of `POST /devices/upload` and `POST /devices/delete`. ASSUMED field name `deviceIds` (the name KAI
 * and Knox Configure use for "IMEIs or serial numbers"); `targetServices` is documented. An id that is not
 * an IMEI or serial number is accepted here and fails per device in the callback (INVALID_DEVICE_ID). */
export const KdmsDeviceOperationRequest = z
  .object({
    deviceIds: z
      .array(z.string())
      .min(1)
      .max(KDMS_MAX_DEVICES_PER_OPERATION)
      .describe('IMEIs or serial numbers'),
    targetServices: z.array(z.enum(KDMS_TARGET_SERVICES)).min(1),
  })
  .register(kdmsRegistry, { id: 'KdmsDeviceOperationRequest' });
export type KdmsDeviceOperationRequest = z.input<typeof KdmsDeviceOperationRequest>;

/** HTTP 202 body of upload and delete. KDMS documents the 202 and that getDevices filters by the upload's
 * operation id; ASSUMED: that id is `uploadId`, for both operations. Without it nothing can follow the
 * operation (the callback and the job are keyed on it), so it is required. */
export const KdmsOperationAccepted = z
  .object({
    uploadId: id('The operation id: getDevices filters by it and the KWN callback carries it'),
    status: text('IN_PROGRESS'),
    deviceCount: count('How many ids the operation holds'),
  })
  .register(kdmsRegistry, { id: 'KdmsOperationAccepted' });
export type KdmsOperationAccepted = z.output<typeof KdmsOperationAccepted>;

// ---- getDevices ----------------------------------------------------------------------------------

/** Body of `POST /devices/getDevices`; filters combine with AND. The filters and paging parameters are
 * documented; ASSUMED: `deviceIds` as the name of the IMEI-or-serial filter. */
export const KdmsGetDevicesRequest = z
  .object({
    uploadId: z.string().min(1).optional().describe('The operation id of the upload that registered them'),
    deviceIds: z
      .array(z.string())
      .max(KDMS_MAX_IDS_PER_GET)
      .optional()
      .describe('IMEIs (primary or secondary) or serial numbers'),
    searchAfter: z.string().optional().describe('The deviceId of the last device of the previous page'),
    pageSize: z.number().int().min(1).max(KDMS_MAX_PAGE_SIZE).default(KDMS_DEFAULT_PAGE_SIZE),
  })
  .register(kdmsRegistry, { id: 'KdmsGetDevicesRequest' });
export type KdmsGetDevicesRequest = z.input<typeof KdmsGetDevicesRequest>;

/**
 * One device as getDevices returns it. The attributes are the tutorial's; their JSON names are ASSUMED.
 * `deviceId` is required (it is the `searchAfter` paging key). A device without an IMEI and without a
 * serial number is broken: nothing could join it to the other APIs, or find it again by the ids it was
 * uploaded with. The `anyOf` says so in the OpenAPI document.
 */
export const KdmsDevice = z
  .object({
    deviceId: id('The KDMS device ID; getDevices pages after it (searchAfter)'),
    customerId: text('Customer ID of the device owner'),
    imei: text('Primary IMEI'),
    secondaryImei: text('Secondary IMEI'),
    serialNumber: text('Serial number'),
    meid: text('MEID'),
    modelName: text('Model name'),
    // Not in the tutorial's attribute list: what Fleetgraph would like to show, when KDMS says.
    uploadId: text('ASSUMED: the upload that registered the device last'),
    targetServices: names('ASSUMED: the Knox services the device is registered for, e.g. KAI'),
    uploadedAt: timestamp('ASSUMED: when the device was registered'),
  })
  .superRefine((device, context) => {
    if (device.imei === null && device.serialNumber === null)
      context.addIssue({ code: 'custom', message: 'a device needs an imei or a serialNumber' });
  })
  .meta({ anyOf: [{ required: ['imei'] }, { required: ['serialNumber'] }] })
  .register(kdmsRegistry, { id: 'KdmsDevice' });
export type KdmsDevice = z.output<typeof KdmsDevice>;

export const KdmsGetDevicesResponse = z
  .object({
    devices: entries(KdmsDevice),
    totalCount: count('ASSUMED: devices matching the filters, over all pages'),
    // Read as today; when it is absent or null, a full page is still followed by the next one, after
    // its last device, the way the tutorial documents searchAfter (kdms.mapper.ts).
    nextSearchAfter: text(
      'ASSUMED (the name Knox Configure v2 uses): pass as searchAfter for the next page; null on the last page',
    ),
  })
  .register(kdmsRegistry, { id: 'KdmsGetDevicesResponse' });
export type KdmsGetDevicesResponse = z.output<typeof KdmsGetDevicesResponse>;

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

/** ASSUMED error envelope (the error page shows codes and messages, not field names). Read only for its
 * words, so every field is optional: an unreadable error body leaves the HTTP status to explain. */
export const KdmsErrorResponse = z
  .object({
    code: text('A KDMS error code, e.g. INVALID_PARAM'),
    message: text(),
    details: names('Which parameters (by JSON path) or ids were at fault, when there are any'),
  })
  .register(kdmsRegistry, { id: 'KdmsErrorResponse' });
export type KdmsErrorResponse = z.output<typeof KdmsErrorResponse>;

// ---- Knox Webhook Notification -------------------------------------------------------------------

export const KWN_EVENTS = {
  upload: 'KDMS_DEVICE_UPLOAD',
  delete: 'KDMS_DEVICE_DELETE',
} as const;
export type KwnKdmsEvent = (typeof KWN_EVENTS)[keyof typeof KWN_EVENTS];

/** ASSUMED subscription body: the docs name "the subscription URL or 'callback'" and "a set of events".
 * Any event name passes the schema, since KWN serves other services' events too (KAI_*, KG_*, …). */
export const KwnSubscriptionRequest = z
  .object({
    callbackUrl: z.url({ protocol: /^https?$/ }).describe('An http(s) URL KWN posts callbacks to'),
    events: z.array(z.string().min(1)).min(1).describe('Event names, e.g. KDMS_DEVICE_UPLOAD'),
    description: z.string().nullish(),
  })
  .register(kdmsRegistry, { id: 'KwnSubscriptionRequest' });
export type KwnSubscriptionRequest = z.input<typeof KwnSubscriptionRequest>;

/** ASSUMED subscription record. `subscriptionId` is required: it is how a subscription is changed. */
export const KwnSubscription = z
  .object({
    subscriptionId: id(),
    callbackUrl: text(),
    events: names('Event names'),
    description: text(),
    status: text('ACTIVE'),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .register(kdmsRegistry, { id: 'KwnSubscription' });
export type KwnSubscription = z.output<typeof KwnSubscription>;

export const KwnSubscriptionList = z
  .object({ subscriptions: entries(KwnSubscription) })
  .register(kdmsRegistry, { id: 'KwnSubscriptionList' });
export type KwnSubscriptionList = z.output<typeof KwnSubscriptionList>;

/** KWN's own error body (documented: 400 "Validation error", 404 on unknown ids; names ASSUMED). */
export const KwnErrorResponse = z
  .object({
    code: text('VALIDATION_ERROR, NOT_FOUND, UNAUTHORIZED or FORBIDDEN'),
    message: text(),
  })
  .register(kdmsRegistry, { id: 'KwnErrorResponse' });
export type KwnErrorResponse = z.output<typeof KwnErrorResponse>;

/** Headers of a callback: a compact JWS whose payload is the base64url of the raw body, signed RS256 with
 * the key of the certificate at `GET /downloadCertificate` (third-party receivers; ASSUMED otherwise). */
export const KWN_SIGNATURE_HEADER = 'x-wsm-signature';
export const KWN_TRACE_ID_HEADER = 'x-wsm-traceid';
export const KWN_SIGNATURE_ALGORITHM = 'RS256';

/** One device's outcome in a callback (ASSUMED). The submitted id is required: a result for no device
 * cannot be reported; the rest is optional. */
export const KdmsDeviceResult = z
  .object({
    deviceId: id('The IMEI or serial number as it was submitted'),
    status: text('SUCCESS or FAILURE'),
    errorCode: text('A KDMS error code, on failure (documented codes, e.g. IMEI_EXIST_IN_DIFFERENT_ACCOUNT)'),
    errorMessage: text(),
  })
  .register(kdmsRegistry, { id: 'KdmsDeviceResult' });
export type KdmsDeviceResult = z.output<typeof KdmsDeviceResult>;

/**
 * ASSUMED callback body for `KDMS_DEVICE_UPLOAD` / `KDMS_DEVICE_DELETE` (no public sample exists).
 * Required: `eventId` (a redelivered callback is recognised by it), `data.uploadId` (the job it settles)
 * and `data.results` (the per-device outcome is what the callback is for). The rest is optional:
 * Fleetgraph counts results itself, and a missing `eventType` does not contradict the job's operation.
 */
export const KwnKdmsEventNotification = z
  .object({
    eventId: id('Unique per event; a redelivery repeats it'),
    eventType: text('KDMS_DEVICE_UPLOAD or KDMS_DEVICE_DELETE'),
    eventTime: timestamp('When the operation finished'),
    customerId: text(),
    data: z.object({
      uploadId: id('The operation id the 202 answered with'),
      status: text('COMPLETED, PARTIALLY_COMPLETED or FAILED'),
      targetServices: names('The target services of the operation'),
      totalCount: count(),
      successCount: count(),
      failureCount: count(),
      results: z.array(KdmsDeviceResult).describe('One result per submitted id'),
    }),
  })
  .register(kdmsRegistry, { id: 'KwnKdmsEventNotification' });
export type KwnKdmsEventNotification = z.output<typeof KwnKdmsEventNotification>;
