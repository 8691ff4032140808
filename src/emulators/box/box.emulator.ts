import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { formatJsonPath } from '../../upstreams/errors.js';
import {
  BOX_API_KEY_HEADER,
  BOX_API_PREFIX,
  BOX_PATHS,
  BoxCuidRequest,
  BoxDeviceAppListResponse,
  BoxDeviceListResponse,
  BoxDeviceReadResponse,
  BoxDeviceUpdateRequest,
  BoxDeviceUserListResponse,
  BoxErrorResponse,
  BoxListDevicesRequest,
} from '../../upstreams/box/box.wire.js';
import type { BoxAppRecord, BoxDeviceRecord, BoxDeviceUserRecord } from '../../upstreams/box/box.wire.js';
import { HttpEmulator, parseJsonBody } from '../core/http-emulator.js';
import type { EmulatorReply, EmulatorRequest, RouteContract } from '../core/http-emulator.js';
import type { FaultSettings } from '../core/faults.js';
import { createSeededRandom } from '../core/seeded-random.js';
import type { SeededRandom } from '../core/seeded-random.js';
import { DEV_CREDENTIALS } from '../dev-credentials.js';
import type { SeededFleet } from '../fleet/seeded-fleet.js';
import { boxOpenApi } from './box.openapi.js';

/**
 * The RHMAP ("Box") admin devices API: JSON POSTs under `/box/srv/1.1/admin/device/…`, an API key in
 * `X-FH-AUTH-USER`, and `{status: "ok" | "error"}` envelopes. By default it answers exactly as chapter 6
 * shows; the `altSpellings` shape variant answers as real RHMAP servers do (extra record fields,
 * "true"/"false" strings, no `count`, errors with `msg`). Requests are validated with the wire schemas.
 * Updates are kept and seen by later reads.
 */

export interface BoxEmulatorOptions {
  fleet: SeededFleet;
  faults?: Partial<FaultSettings>;
  /** API keys accepted beside the development key. */
  apiKeys?: string[];
}

/** ASSUMED error messages and HTTP statuses (not documented): 401 for a missing or unknown API key,
 * 400 for a malformed body, 404 for an unknown cuid. */
const ERROR_MESSAGES = {
  unauthorised: 'Unauthorised: a valid X-FH-AUTH-USER API key is required',
  notJson: 'Request body must be JSON',
  badBody: 'Invalid request body',
  notFound: 'Device not found',
} as const;

/** A device record as chapter 6 shows it; every value already in its documented type. */
type DeviceRecord = z.output<typeof BoxDeviceRecord>;

interface StoredDevice {
  record: DeviceRecord;
  /** Bookkeeping real records carry beside chapter 6's fields (sent only as an alternative spelling). */
  createdAt: number;
  modifiedAt: number;
  version: number;
}

/**
 * A device record as a real RHMAP server sends it (fhc's fixture `test/unit/fh3/admin/devices`): a
 * `type`, platform bookkeeping in `fields`, and flags that some deployments send as strings.
 */
interface RealDeviceRecord {
  guid: string;
  type: 'mam_Devices';
  fields: BoxDeviceRecord['fields'] & {
    businessObject: string;
    domain: string;
    sysCreated: string;
    sysModified: string;
    sysVersion: number;
    sysGroupFlags: number;
    sysGroupList: string;
  };
}

/** The domain every emulated device belongs to, as a real record's `fields.domain`. */
const DOMAIN = 'fleetgraph';

/** RHMAP's timestamp format, e.g. "2015-07-31 15:34:40:151". */
function rhmapTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.(\d{3})Z$/, ':$1');
}

/** One problem with a request body, with the zod path: "disabled: expected boolean, received string". */
function describeIssue(issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0];
  if (!first) return 'unreadable';
  return `${formatJsonPath(first.path)}: ${first.message.replace(/^Invalid input: /, '')}`;
}

type RequestRead<T> = { ok: true; value: T } | { ok: false; reply: EmulatorReply };

export class BoxEmulator {
  readonly http: HttpEmulator;
  private readonly devices = new Map<string, StoredDevice>();
  private readonly apps = new Map<string, BoxAppRecord[]>();
  private readonly users = new Map<string, BoxDeviceUserRecord[]>();
  private readonly apiKeys: Buffer[];
  /** Built on first request: the route table is complete by then and never changes. */
  private openApi: Record<string, unknown> | null = null;

  constructor(options: BoxEmulatorOptions) {
    this.apiKeys = [DEV_CREDENTIALS.box.apiKey, ...(options.apiKeys ?? [])].map((k) => Buffer.from(k));
    this.loadFleet(options.fleet);
    this.http = new HttpEmulator({
      name: 'box',
      random: createSeededRandom(`${options.fleet.seed}/box-faults`),
      faults: options.faults,
      // Errors the shared machinery injects (429, 500, 503, unknown routes) keep the documented spelling.
      errorBody: (_status, message): BoxErrorResponse => ({ status: 'error', message }),
    });
    this.http.guard((r) => this.authorize(r));
    this.addRoutes();
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private loadFleet(fleet: SeededFleet): void {
    const appsByGuid = new Map(fleet.apps.map((a) => [a.guid, a]));
    const usersById = new Map(fleet.users.map((u) => [u.userId, u]));
    for (const d of fleet.devices) {
      const box = d.box;
      if (!box) continue;
      this.devices.set(box.cuid, {
        record: {
          guid: box.guid,
          fields: { cuid: box.cuid, name: box.name, disabled: box.disabled, blacklisted: box.blacklisted },
        },
        createdAt: box.createdAt,
        modifiedAt: box.createdAt,
        version: 1,
      });
      this.apps.set(
        box.cuid,
        box.appGuids.map((guid) => {
          const app = appsByGuid.get(guid)!;
          return { guid, fields: { name: app.name, description: app.description } };
        }),
      );
      this.users.set(
        box.cuid,
        box.userIds.map((userId) => {
          const user = usersById.get(userId)!;
          return { guid: user.boxGuid, fields: { userId: user.userId, email: user.email } };
        }),
      );
    }
  }

  // ---- routes ----------------------------------------------------------------------------------------

  private addRoutes(): void {
    const http = this.http;
    const api = (path: string): string => BOX_API_PREFIX + path;
    const error = (description: string) => ({ description, schema: BoxErrorResponse });
    const badBody = error('Body is not JSON, or misses or mistypes a field');
    const unauthorised = error('Missing or unknown API key');
    const aboutOneDevice = { 400: badBody, 401: unauthorised, 404: error('Unknown cuid') };
    const list = {
      responses: {
        200: {
          description: 'Every device that authenticated against the platform',
          schema: BoxDeviceListResponse,
        },
        401: unauthorised,
      },
      security: 'apiKey',
      alternative: (body, random) => this.listAlternative(body, random),
    } satisfies Partial<RouteContract>;

    http.route(
      'POST',
      api(BOX_PATHS.list),
      {
        operationId: 'listDevices',
        summary: 'List devices (chapter 6.1)',
        body: { json: BoxListDevicesRequest },
        ...list,
        responses: { ...list.responses, 400: badBody },
      },
      (r) => this.listDevices(r),
    );
    http.route(
      'GET',
      api(BOX_PATHS.list),
      { operationId: 'listDevicesByGet', summary: 'List devices as the fhc CLI asks: GET, no body', ...list },
      () => this.listReply(),
    );
    http.route(
      'POST',
      api(BOX_PATHS.read),
      {
        operationId: 'readDevice',
        summary: 'Read one device by cuid (chapter 6.2)',
        body: { json: BoxCuidRequest },
        responses: { 200: { description: 'The device', schema: BoxDeviceReadResponse }, ...aboutOneDevice },
        security: 'apiKey',
        alternative: (body, random) => this.deviceAlternative(body, random),
      },
      (r) => this.withDevice(r, BoxCuidRequest, (device) => this.deviceReply(device)),
    );
    http.route(
      'POST',
      api(BOX_PATHS.update),
      {
        operationId: 'updateDevice',
        summary: 'Rename, block or mark a device for purge (chapter 6.3); absent fields are kept',
        body: { json: BoxDeviceUpdateRequest },
        responses: {
          200: { description: 'The updated device', schema: BoxDeviceReadResponse },
          ...aboutOneDevice,
        },
        security: 'apiKey',
        alternative: (body, random) => this.deviceAlternative(body, random),
      },
      (r) => this.withDevice(r, BoxDeviceUpdateRequest, (device, change) => this.update(device, change)),
    );
    http.route(
      'POST',
      api(BOX_PATHS.listApps),
      {
        operationId: 'listDeviceApps',
        summary: 'Apps that authenticated from a device (chapter 6.4)',
        body: { json: BoxCuidRequest },
        responses: {
          200: { description: "The device's apps", schema: BoxDeviceAppListResponse },
          ...aboutOneDevice,
        },
        security: 'apiKey',
        alternative: (body, random) => this.withoutCount(BoxDeviceAppListResponse.parse(body), random),
      },
      (r) => this.withDevice(r, BoxCuidRequest, (device) => this.appsReply(device)),
    );
    http.route(
      'POST',
      api(BOX_PATHS.listUsers),
      {
        operationId: 'listDeviceUsers',
        summary: 'Users who authenticated from a device (chapter 6.5)',
        body: { json: BoxCuidRequest },
        responses: {
          200: { description: "The device's users", schema: BoxDeviceUserListResponse },
          ...aboutOneDevice,
        },
        security: 'apiKey',
        alternative: (body, random) => this.withoutCount(BoxDeviceUserListResponse.parse(body), random),
      },
      (r) => this.withDevice(r, BoxCuidRequest, (device) => this.usersReply(device)),
    );
    http.controlRoute('GET', '/openapi.json', () => ({
      status: 200,
      body: (this.openApi ??= boxOpenApi(http)),
    }));
  }

  private authorize(request: EmulatorRequest): EmulatorReply | undefined {
    const header = request.headers[BOX_API_KEY_HEADER];
    const presented = Buffer.from(typeof header === 'string' ? header : '');
    const known = this.apiKeys.some(
      (key) => key.length === presented.length && timingSafeEqual(key, presented),
    );
    return known ? undefined : this.error(request, 401, ERROR_MESSAGES.unauthorised);
  }

  private listDevices(request: EmulatorRequest): EmulatorReply {
    // A POST with no body at all is read as the documented `{}`.
    const read = this.readRequest(request, BoxListDevicesRequest, {});
    return read.ok ? this.listReply() : read.reply;
  }

  private listReply(): EmulatorReply {
    const body: BoxDeviceListResponse = this.listOf([...this.devices.values()].map((d) => d.record));
    return { status: 200, body };
  }

  private listOf<T>(list: T[]): { status: 'ok'; count: number; list: T[] } {
    return { status: 'ok', count: list.length, list };
  }

  private deviceReply(device: StoredDevice): EmulatorReply {
    const body: BoxDeviceReadResponse = { status: 'ok', ...device.record };
    return { status: 200, body };
  }

  private appsReply(device: StoredDevice): EmulatorReply {
    const body: BoxDeviceAppListResponse = this.listOf(this.apps.get(device.record.fields.cuid) ?? []);
    return { status: 200, body };
  }

  private usersReply(device: StoredDevice): EmulatorReply {
    const body: BoxDeviceUserListResponse = this.listOf(this.users.get(device.record.fields.cuid) ?? []);
    return { status: 200, body };
  }

  private update(device: StoredDevice, change: z.output<typeof BoxDeviceUpdateRequest>): EmulatorReply {
    const fields = device.record.fields;
    const updated: StoredDevice = {
      record: {
        ...device.record,
        fields: {
          ...fields,
          name: change.name ?? fields.name,
          disabled: change.disabled ?? fields.disabled,
          blacklisted: change.blacklisted ?? fields.blacklisted,
        },
      },
      createdAt: device.createdAt,
      modifiedAt: Date.now(),
      version: device.version + 1,
    };
    this.devices.set(fields.cuid, updated);
    return this.deviceReply(updated);
  }

  // ---- reading requests ------------------------------------------------------------------------------

  /** The body read through its wire schema; a bad one is answered 400 with the zod path. */
  private readRequest<S extends z.ZodType>(
    request: EmulatorRequest,
    schema: S,
    whenEmpty?: unknown,
  ): RequestRead<z.output<S>> {
    const parsed = parseJsonBody(request);
    if (!parsed.ok) return { ok: false, reply: this.error(request, 400, ERROR_MESSAGES.notJson) };
    const read = schema.safeParse(parsed.value ?? whenEmpty);
    if (read.success) return { ok: true, value: read.data };
    return {
      ok: false,
      reply: this.error(request, 400, `${ERROR_MESSAGES.badBody}: ${describeIssue(read.error.issues)}`),
    };
  }

  /** Reads a request about one device (`{cuid, …}`) and answers it, or 400/404. */
  private withDevice<S extends z.ZodType<{ cuid: string }>>(
    request: EmulatorRequest,
    schema: S,
    answer: (device: StoredDevice, body: z.output<S>) => EmulatorReply,
  ): EmulatorReply {
    const read = this.readRequest(request, schema);
    if (!read.ok) return read.reply;
    const { cuid } = read.value;
    const device = this.devices.get(cuid);
    return device
      ? answer(device, read.value)
      : this.error(request, 404, `${ERROR_MESSAGES.notFound}: ${cuid}`);
  }

  // ---- error envelopes and alternative spellings -----------------------------------------------------

  /** The documented envelope, or with `msg` (as fhc also reads) while `altSpellings` applies to the path. */
  private error(request: EmulatorRequest, status: number, message: string): EmulatorReply {
    const body: BoxErrorResponse = this.spellsAlternatively(request.path)
      ? { status: 'error', msg: message }
      : { status: 'error', message };
    return { status, body };
  }

  /**
   * Whether the `altSpellings` variant is on for this path. The core applies shape variants to 200
   * answers only; error envelopes are the emulator's own, so it follows the same fault settings here.
   */
  private spellsAlternatively(path: string): boolean {
    const { shapeVariants, paths } = this.http.faults;
    return (
      shapeVariants.includes('altSpellings') &&
      (paths.length === 0 || paths.some((prefix) => path.startsWith(prefix)))
    );
  }

  /** A device list as real RHMAP servers send it: real records, and `count` sometimes left out. */
  private listAlternative(body: unknown, random: SeededRandom): unknown {
    const answer = BoxDeviceListResponse.parse(body);
    const list = answer.list.map((record) => this.realRecord(record, random));
    return this.withoutCount({ ...answer, list }, random);
  }

  private deviceAlternative(body: unknown, random: SeededRandom): unknown {
    return { status: 'ok', ...this.realRecord(BoxDeviceReadResponse.parse(body), random) };
  }

  /** `count` is optional to readers: real answers may carry none. */
  private withoutCount<T extends { count: number | null }>(
    answer: T,
    random: SeededRandom,
  ): Omit<T, 'count'> | T {
    if (!random.chance(0.5)) return answer;
    const { count: _count, ...rest } = answer;
    return rest;
  }

  /** The record with a real server's extra fields; flags as "true"/"false" strings half the time. */
  private realRecord(record: DeviceRecord, random: SeededRandom): RealDeviceRecord {
    const stored = this.devices.get(record.fields.cuid);
    const createdAt = stored?.createdAt ?? 0;
    const asText = random.chance(0.5);
    const spell = (value: boolean | null) => (asText && value !== null ? String(value) : value);
    return {
      guid: record.guid,
      type: 'mam_Devices',
      fields: {
        ...record.fields,
        disabled: spell(record.fields.disabled),
        blacklisted: spell(record.fields.blacklisted),
        businessObject: 'cluster/reseller/customer/domain/admin/app-store/device',
        domain: DOMAIN,
        sysCreated: rhmapTimestamp(createdAt),
        sysModified: rhmapTimestamp(stored?.modifiedAt ?? createdAt),
        sysVersion: stored?.version ?? 1,
        sysGroupFlags: 31,
        sysGroupList: '',
      },
    };
  }
}
