import { z } from 'zod';
import { count, flag, id, text } from '../wire-schema.js';

/**
 * Red Hat Mobile Application Platform ("Box") admin API, devices: the JSON exactly as it crosses the
 * wire, written once as zod schemas. BoxClient reads every answer through them, the emulator validates
 * requests with them and builds its OpenAPI document from them, and the contract test checks the
 * emulator's answers against them. Sources: /work/shared/seeds (Platform API, chapter 6) and
 * /work/shared/upstreams.md §5. Everything marked ASSUMED is our choice where public material is silent.
 *
 * Readers are tolerant (wire-schema.ts): unknown fields are ignored (real records carry `type`,
 * `fields.sysCreated`, `fields.domain`, … that chapter 6 does not show), an optional field that is
 * missing or unreadable is null, `disabled`/`blacklisted` may come as booleans or "true"/"false".
 * Identity (`guid`, `cuid`, `userId`) and the envelope (`status`, `list`) are required: without them an
 * answer cannot be joined, so it fails as UPSTREAM_ERROR naming the JSON path.
 *
 * Types: `z.input<typeof X>` is the wire as sent (the emulator's bodies, the client's requests);
 * `z.output<typeof X>` is what a reader gets (the mapper's input).
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

/** Named schemas, shown as `components.schemas` of the emulator's OpenAPI document. */
export const boxRegistry = z.registry<{ id: string }>();

// ---- errors ------------------------------------------------------------------------------------------

/**
 * Box's words for a failure. `message` is documented; fhc also reads `msg`, which its not-logged-in reply
 * uses. Either may be missing: the HTTP status (or the envelope) still says it failed.
 */
const errorText = {
  message: text('The documented spelling'),
  msg: text('The spelling fhc also reads (e.g. in its not-logged-in reply)'),
};

/** The documented error envelope, sent with an HTTP error status or (Box's own habit) with 200. */
export const BoxErrorResponse = z
  .object({ status: z.literal('error'), ...errorText })
  .register(boxRegistry, { id: 'BoxErrorResponse' });
export type BoxErrorResponse = z.input<typeof BoxErrorResponse>;

/**
 * Any body Box sends with an HTTP error status, read only for its message: the envelope, or fhc's
 * not-logged-in reply `{msg, address: {"login-status": "none"}}`, which carries no `status`.
 */
export const BoxErrorBody = z.object(errorText);

/** Box's message from an error body, in either spelling. */
export function boxErrorMessage(body: z.output<typeof BoxErrorBody> | undefined): string | null {
  return body?.message ?? body?.msg ?? null;
}

// ---- requests ----------------------------------------------------------------------------------------

/** Documented as `{}`; fhc sends GET with no body, which the emulator reads as `{}`. */
export const BoxListDevicesRequest = z.object({}).register(boxRegistry, { id: 'BoxListDevicesRequest' });
export type BoxListDevicesRequest = z.input<typeof BoxListDevicesRequest>;

/** read, listapps and listusers: one device by the id it assigned itself. */
export const BoxCuidRequest = z
  .object({ cuid: z.string().min(1).describe('The id the device assigned itself') })
  .register(boxRegistry, { id: 'BoxCuidRequest' });
export type BoxCuidRequest = z.input<typeof BoxCuidRequest>;

/**
 * Absent optional fields stay as they are. ASSUMED: the doc's "DEFAULT=false" describes new devices; the
 * RHMAP studio sends one field at a time (`{cuid, disabled}`) and expects the others kept.
 */
export const BoxDeviceUpdateRequest = BoxCuidRequest.extend({
  name: z.string().optional().describe('Friendly name of the device'),
  disabled: z.boolean().optional().describe('Is this device currently blocked from logging in'),
  blacklisted: z
    .boolean()
    .optional()
    .describe('Should data be purged from apps the next time the device authenticates'),
}).register(boxRegistry, { id: 'BoxDeviceUpdateRequest' });
export type BoxDeviceUpdateRequest = z.input<typeof BoxDeviceUpdateRequest>;

// ---- records -----------------------------------------------------------------------------------------

export const BoxDeviceFields = z
  .object({
    /** Fleetgraph's devices use their IMEI or serial number. */
    cuid: id('The id the device assigned itself'),
    name: text('Friendly name of the device'),
    disabled: flag('Is this device currently blocked from logging in'),
    blacklisted: flag('Should data be purged from apps the next time the device authenticates'),
  })
  .register(boxRegistry, { id: 'BoxDeviceFields' });

/** Real records also carry `type: "mam_Devices"` and more `fields` (fhc fixtures); readers ignore them. */
export const BoxDeviceRecord = z
  .object({ guid: id('Global unique id of the device'), fields: BoxDeviceFields })
  .register(boxRegistry, { id: 'BoxDeviceRecord' });
export type BoxDeviceRecord = z.input<typeof BoxDeviceRecord>;

export const BoxAppRecord = z
  .object({
    guid: id('Unique app guid'),
    fields: z.object({ name: text('App name'), description: text('App description') }),
  })
  .register(boxRegistry, { id: 'BoxAppRecord' });
export type BoxAppRecord = z.input<typeof BoxAppRecord>;

export const BoxDeviceUserRecord = z
  .object({
    guid: id('Unique user guid'),
    fields: z.object({ userId: id('Unique user id'), email: text('User email') }),
  })
  .register(boxRegistry, { id: 'BoxDeviceUserRecord' });
export type BoxDeviceUserRecord = z.input<typeof BoxDeviceUserRecord>;

// ---- successful answers ------------------------------------------------------------------------------

const ok = z.literal('ok');

/**
 * `{status: "ok", count, list}`. `list` is required: an answer without it is a broken envelope, and
 * reading it as empty would silently hide every record. `count` is optional and never relied on: fhc's
 * fixture shows `count` 20 beside a `list` of 2, so it may be a total rather than the page length.
 */
function listResponse<T extends z.ZodType>(record: T, countMeans: string) {
  return z.object({ status: ok, count: count(countMeans), list: z.array(record) });
}

/** ASSUMED: list has no paging parameters (none are documented), so one call returns the whole fleet. */
export const BoxDeviceListResponse = listResponse(BoxDeviceRecord, 'Total device count').register(
  boxRegistry,
  { id: 'BoxDeviceListResponse' },
);
export type BoxDeviceListResponse = z.input<typeof BoxDeviceListResponse>;

/** read and update: the record itself beside `status`. */
export const BoxDeviceReadResponse = BoxDeviceRecord.extend({ status: ok }).register(boxRegistry, {
  id: 'BoxDeviceReadResponse',
});
export type BoxDeviceReadResponse = z.input<typeof BoxDeviceReadResponse>;

export const BoxDeviceAppListResponse = listResponse(BoxAppRecord, 'Total apps count').register(boxRegistry, {
  id: 'BoxDeviceAppListResponse',
});
export type BoxDeviceAppListResponse = z.input<typeof BoxDeviceAppListResponse>;

export const BoxDeviceUserListResponse = listResponse(BoxDeviceUserRecord, 'Total users count').register(
  boxRegistry,
  { id: 'BoxDeviceUserListResponse' },
);
export type BoxDeviceUserListResponse = z.input<typeof BoxDeviceUserListResponse>;

// ---- what a client reads -----------------------------------------------------------------------------

/**
 * What an endpoint may answer with HTTP 200: its success body, or the error envelope. Told apart by
 * `status`, so a broken success body is reported at its own path (`list[3].fields.cuid`) and a missing
 * or unknown `status` at `status`.
 */
function boxAnswer<T extends z.ZodObject<{ status: typeof ok }>>(success: T) {
  return z.discriminatedUnion('status', [success, BoxErrorResponse]);
}

export const BoxDeviceListAnswer = boxAnswer(BoxDeviceListResponse);
export const BoxDeviceReadAnswer = boxAnswer(BoxDeviceReadResponse);
export const BoxDeviceAppListAnswer = boxAnswer(BoxDeviceAppListResponse);
export const BoxDeviceUserListAnswer = boxAnswer(BoxDeviceUserListResponse);
