import { z } from 'zod';
import { OAuthErrorResponse, OAuthTokenRequest, OAuthTokenResponse } from '../auth/oauth.wire.js';
import { count, documentedAs, id, list, optional, text, timestamp } from '../wire-schema.js';

/**
 * Knox Manage Open API, written once: the published OpenAPI document (../shared/reference/, extracted
 * from the public Knox Manage API reference; its README lists the facts) is the contract. Where public
 * callers that talk to the real service read something else, the schema accepts both and says so:
 * - `resultValue.deviceList` (camel case) beside the spec's `devicelist`;
 * - `lastConnectionDate` as a Java `Date` `{time: <ms>}` or epoch ms beside the spec's date-time string;
 * - `selectDevicesByUser`'s `resultValue` as an array (what callers read) or one object (what the spec says);
 * - numbers sent as strings and strings sent as numbers (the spec's `total` is a string for devices, an
 *   integer for users).
 * The client, the emulator and the emulator's OpenAPI document (`GET /openapi.json`) all use these schemas;
 * a contract test validates the emulator's answers against the published document itself with ajv.
 *
 * Conventions: device reads are form-encoded POSTs, user reads are GETs with query parameters; every answer
 * is `{resultCode, resultMessage, resultValue}` with `resultCode` a string and "0" meaning success; business
 * errors come back as HTTP 200 with another code.
 */

export const knoxManageRegistry = z.registry<{ id: string }>();

export const KNOX_MANAGE_TOKEN_PATH = '/emm/oauth/token';
export const KNOX_MANAGE_API_PREFIX = '/emm/oapi';
export const KNOX_MANAGE_PATHS = {
  selectDeviceList: '/device/selectDeviceList',
  selectDeviceInfoByImei: '/device/selectDeviceInfoByImei',
  selectDeviceInfoBySerialNumber: '/device/selectDeviceInfoBySerialNumber',
  /** Fleetgraph reads a user's devices with selectDeviceList's `userId` filter (paged, a documented list);
   * the emulator still serves this one as callers see it. */
  selectDevicesByUser: '/device/selectDevicesByUser',
  selectUsers: '/user/selectUsers',
  selectUserWithID: '/user/selectUserWithID',
  authenticate: '/auth/authenticate',
} as const;

// ---- OAuth 2.0 client credentials (documented in the spec's introduction, not as a path) ---------------

export const KnoxManageTokenRequest = OAuthTokenRequest.register(knoxManageRegistry, { id: 'TokenRequest' });
/** Documented sample: `{access_token, token_type: "bearer", expires_in, scope: "read"}`. */
export const KnoxManageTokenResponse = OAuthTokenResponse.register(knoxManageRegistry, {
  id: 'TokenResponse',
});
export type KnoxManageTokenResponse = z.input<typeof KnoxManageTokenResponse>;
/** The spec's `UnauthorizedSchema` (`error`, `error_description`), also the token endpoint's error body. */
export const KnoxManageUnauthorized = OAuthErrorResponse.register(knoxManageRegistry, {
  id: 'UnauthorizedSchema',
});

// ---- envelope and result codes -------------------------------------------------------------------

export const KNOX_MANAGE_SUCCESS = '0';
export const KNOX_MANAGE_SUCCESS_MESSAGE = 'No Error';

/** Published result codes of the device, user and auth families (`%d` is filled in by the emulator). */
export const KNOX_MANAGE_RESULT_CODES = {
  '-102': 'Parameter - Null or Empty string',
  '-103': 'Parameter - Null object',
  '-109': 'Parameter - The string length must be less than %d',
  '-202': 'There are no results.',
  '-205': 'Data Not found',
  '-223': 'No userId found from User Info Repository, please check userID',
  '-224': 'Authentication failed, please check Id or password',
  '-999': 'Unknown Error code',
} as const;
export type KnoxManageResultCode = keyof typeof KNOX_MANAGE_RESULT_CODES;

/** "No such record": the detail and user reads answer these instead of an empty value. */
export const KNOX_MANAGE_NOT_FOUND_CODES: readonly string[] = ['-202', '-205'];
/** A sign-in Knox Manage refused; which of the two it was is not passed on (user enumeration). */
export const KNOX_MANAGE_SIGN_IN_REFUSED_CODES: readonly string[] = ['-223', '-224'];
/** The caller's input broke a documented parameter rule. */
export const KNOX_MANAGE_INPUT_CODES: readonly string[] = ['-102', '-103', '-109'];

/** The envelope alone: read first, so an error answer is never judged by the success schema. */
export const KnoxManageEnvelopeHead = z.object({
  resultCode: id('"0" is success; others are error codes'),
  resultMessage: text("'No Error' on success"),
  resultValue: z.unknown().optional(),
});

function envelope<T extends z.ZodType>(value: T) {
  return z.object({
    resultCode: id('"0" is success; others are error codes'),
    resultMessage: text("'No Error' on success"),
    resultValue: optional(value),
  });
}

/** Documented rate limit for `/emm/oapi/*` (25.07): 1,800 requests a minute, then HTTP 429. */
export const KNOX_MANAGE_REQUESTS_PER_MINUTE = 1800;

// ---- devices -------------------------------------------------------------------------------------

/** Documented: `limit` is 1..1000 (default 1000); `start` is a 0-based row offset ("Row index begins from 0"). */
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
const userId = z.string().max(50).regex(KNOX_MANAGE_USER_ID_PATTERN, 'letters, digits and _ : . - + only');
const rowIndex = z.string().regex(/^\d+$/, 'a whole number');

/** `DeviceSearhParamSchema` [sic]: form fields of `selectDeviceList`; numbers travel as strings. */
export const KnoxManageDeviceListRequest = z
  .object({
    start: documentedAs(rowIndex, 'integer', 'Row index begins from 0 (start >= 0)').optional(),
    limit: documentedAs(
      rowIndex.refine((v) => Number(v) >= 1 && Number(v) <= KNOX_MANAGE_MAX_LIMIT, 'between 1 and 1000'),
      'integer',
      'Number of Rows (0 < limit <= 1000)',
    ).optional(),
    userId: userId.optional(),
    deviceStatus: z.enum(Object.keys(KNOX_MANAGE_DEVICE_STATUSES) as [KnoxManageDeviceStatus]).optional(),
  })
  .register(knoxManageRegistry, { id: 'DeviceSearhParamSchema' });

export const KnoxManageImeiRequest = z
  .object({ imei: z.string().min(1) })
  .register(knoxManageRegistry, { id: 'ImeiParamSchema' });
export const KnoxManageSerialNumberRequest = z
  .object({ serialNumber: z.string().min(1) })
  .register(knoxManageRegistry, { id: 'SerialNumParamSchema' });
export const KnoxManageUserIdRequest = z
  .object({ userId })
  .register(knoxManageRegistry, { id: 'UserIdParamSchema' });

const TagMapper = z.object({ tagValue: text() });

/** One `DeviceList` row: the fields Fleetgraph reads (the spec lists ~140, mostly search-filter echoes). */
export const KnoxManageDeviceRow = z
  .object({
    deviceId: id("Knox Manage's device id"),
    mobileId: text('Device name'),
    deviceStatus: text('I, P, A, B, BS, BA or BL'),
    platform: text('A (Android), I (iOS), W (Windows)…'),
    imei: text(),
    serialNumber: text(),
    phone: text(),
    userId: text('Owner user id'),
    userName: text(),
    email: text(),
    orgCode: text(),
    orgName: text(),
    deviceModel: text(),
    deviceModelKind: text(),
    ownerShip: text(),
    deviceTags: list(TagMapper),
    updated: timestamp(),
    /** Not in the spec's list rows; public callers read it there as `{time}`. */
    lastConnectionDate: timestamp(),
  })
  .register(knoxManageRegistry, { id: 'DeviceList' });
export type KnoxManageDeviceRow = z.input<typeof KnoxManageDeviceRow>;

/** `DeviceDetail`: the answer of selectDeviceInfo, …ByImei, …BySerialNumber, …ByMobileId. */
export const KnoxManageDeviceDetail = z
  .object({
    deviceId: id("Knox Manage's device id"),
    mobileId: text('Device name'),
    userId: text('Owner user id'),
    deviceStatus: text('I, P, A, B, BS, BA or BL'),
    platform: text(),
    phone: text(),
    deviceModel: text(),
    deviceModelKind: text(),
    imei: text(),
    serialNumber: text(),
    lastConnectionDate: timestamp(),
    isDeviceLock: text(),
    ownerShip: text(),
    orgCode: text(),
    orgName: text(),
    updated: timestamp(),
    created: timestamp(),
  })
  .register(knoxManageRegistry, { id: 'DeviceDetail' });
export type KnoxManageDeviceDetail = z.input<typeof KnoxManageDeviceDetail>;

/** `DevicesWithTotal`: `total` is a string in the spec; `deviceList` is how public callers spell the list. */
export const KnoxManageDevicesWithTotal = z
  .object({
    total: count('Total count for requests', 'string'),
    devicelist: list(KnoxManageDeviceRow),
    deviceList: list(KnoxManageDeviceRow).meta({ description: 'The spelling public callers read' }),
  })
  .transform(({ total, devicelist, deviceList }) => ({
    total,
    devices: devicelist.length > 0 ? devicelist : deviceList,
  }))
  .register(knoxManageRegistry, { id: 'DevicesWithTotal' });

export const KnoxManageDeviceListResponse = envelope(KnoxManageDevicesWithTotal).register(
  knoxManageRegistry,
  {
    id: 'SelectDeviceRespSchema',
  },
);
export type KnoxManageDeviceListResponse = z.input<typeof KnoxManageDeviceListResponse>;

export const KnoxManageDeviceDetailResponse = envelope(KnoxManageDeviceDetail).register(knoxManageRegistry, {
  id: 'SelectDeviceInfoRespSchema',
});
export type KnoxManageDeviceDetailResponse = z.input<typeof KnoxManageDeviceDetailResponse>;

/** The spec declares one `DeviceList` object; callers of the real service read an array. Both are read. */
export const KnoxManageDevicesByUserResponse = envelope(list(KnoxManageDeviceRow)).register(
  knoxManageRegistry,
  {
    id: 'SelectDevicesByUserRespSchema',
  },
);
export type KnoxManageDevicesByUserResponse = z.input<typeof KnoxManageDevicesByUserResponse>;

// ---- users ---------------------------------------------------------------------------------------

/** `GET /user/selectUsers` query: no paging; filters combine. `extraCondition.userIds` is an SQL IN list,
 * sent as repeated parameters (comma-separated values are accepted too). */
export const KnoxManageUsersQuery = z
  .object({
    userId: z.string().max(50).optional().describe('User ID (SQL equal condition)'),
    userName: z.string().max(50).optional().describe('User Name (SQL like condition)'),
    'extraCondition.userIdLike': z.string().max(50).optional().describe('User ID (SQL like condition)'),
    'extraCondition.userIds': z.string().optional().describe('User ID (SQL in condition)'),
  })
  .register(knoxManageRegistry, { id: 'UserSearchQuery' });

/** At most this many ids in one `extraCondition.userIds` read (ASSUMED: keeps the URL well under 8 kB). */
export const KNOX_MANAGE_MAX_USER_IDS_PER_READ = 100;

export const KnoxManageUserIdQuery = z.object({ userId }).register(knoxManageRegistry, { id: 'UserIdQuery' });

/** `UserEmm`: the fields Fleetgraph reads. */
export const KnoxManageUser = z
  .object({
    userId: id('Unique user id'),
    userName: text(),
    email: text(),
    orgCode: text(),
    orgName: text(),
    /** Deprecated in the spec, still sent: "1:enabled, 0:disabled." */
    enabled: text('1: enabled, 0: disabled (deprecated)'),
    userType: text('1: sync, 0: local'),
    created: timestamp('Last updated (the spec types it date-time, its text says a long timestamp)'),
    createdDate: timestamp('First created'),
  })
  .register(knoxManageRegistry, { id: 'UserEmm' });
export type KnoxManageUser = z.input<typeof KnoxManageUser>;

/** `UserResults` → `UserResponseSchema`: `users.user[]` and an integer `total`. */
export const KnoxManageUsersResponse = envelope(
  z.object({
    users: optional(z.object({ user: list(KnoxManageUser), total: count('Total user count') })),
  }),
).register(knoxManageRegistry, { id: 'SelectUsersRespSchema' });
export type KnoxManageUsersResponse = z.input<typeof KnoxManageUsersResponse>;

/** `UserWrap`: `resultValue.user`. */
export const KnoxManageUserResponse = envelope(z.object({ user: optional(KnoxManageUser) })).register(
  knoxManageRegistry,
  { id: 'SelectUserRespSchema' },
);
export type KnoxManageUserResponse = z.input<typeof KnoxManageUserResponse>;

// ---- authentication ------------------------------------------------------------------------------

/** Documented rules for `userPassword`: 8–30 characters with a digit, a letter and a special character. */
export const KNOX_MANAGE_PASSWORD_RULES = {
  minLength: 8,
  maxLength: 30,
  digit: /[0-9]/,
  letter: /[A-Za-z]/,
  special: /[^0-9A-Za-z]/,
} as const;

export const KnoxManageAuthenticateRequest = z
  .object({ userId, userPassword: z.string().min(1).max(50) })
  .register(knoxManageRegistry, { id: 'AuthenticateParamSchema' });

/** `ResponseSchema` → `AuthorizedUserSchema`: only the user id comes back. */
export const KnoxManageAuthenticateResponse = envelope(z.object({ userId: text() })).register(
  knoxManageRegistry,
  { id: 'ResponseSchema' },
);
export type KnoxManageAuthenticateResponse = z.input<typeof KnoxManageAuthenticateResponse>;
