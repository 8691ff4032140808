import { timingSafeEqual } from 'node:crypto';
import {
  BOX_API_KEY_HEADER,
  BOX_API_PREFIX,
  BOX_ERROR_MESSAGES,
  BOX_PATHS,
} from '../../upstreams/box/box.wire.js';
import type {
  BoxAppRecord,
  BoxDeviceListResponse,
  BoxDeviceReadResponse,
  BoxDeviceRecord,
  BoxDeviceUserRecord,
  BoxErrorResponse,
  BoxListResponse,
} from '../../upstreams/box/box.wire.js';
import { HttpEmulator, parseJsonBody } from '../core/http-emulator.js';
import type { EmulatorReply, EmulatorRequest } from '../core/http-emulator.js';
import type { FaultSettings } from '../core/faults.js';
import { createSeededRandom } from '../core/seeded-random.js';
import { DEV_CREDENTIALS } from '../dev-credentials.js';
import type { SeededFleet } from '../fleet/seeded-fleet.js';
import { boxOpenApi } from './box.openapi.js';

/**
 * The RHMAP ("Box") admin devices API: JSON POSTs under `/box/srv/1.1/admin/device/…`, an API key in
 * `X-FH-AUTH-USER`, and `{status: "ok" | "error"}` envelopes. Updates are kept and seen by later reads.
 */

export interface BoxEmulatorOptions {
  fleet: SeededFleet;
  faults?: Partial<FaultSettings>;
  /** API keys accepted beside the development key. */
  apiKeys?: string[];
}

function boxError(status: number, message: string): EmulatorReply {
  const body: BoxErrorResponse = { status: 'error', message };
  return { status, body };
}

/** RHMAP's timestamp format, e.g. "2015-07-31 15:34:40:151". */
function rhmapTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.(\d{3})Z$/, ':$1');
}

export class BoxEmulator {
  readonly http: HttpEmulator;
  private readonly devices = new Map<string, BoxDeviceRecord>();
  private readonly apps = new Map<string, BoxAppRecord[]>();
  private readonly users = new Map<string, BoxDeviceUserRecord[]>();
  private readonly apiKeys: Buffer[];

  constructor(options: BoxEmulatorOptions) {
    this.apiKeys = [DEV_CREDENTIALS.box.apiKey, ...(options.apiKeys ?? [])].map((k) => Buffer.from(k));
    this.loadFleet(options.fleet);
    this.http = new HttpEmulator({
      name: 'box',
      random: createSeededRandom(`${options.fleet.seed}/box-faults`),
      faults: options.faults,
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
      const created = rhmapTimestamp(box.createdAt);
      this.devices.set(box.cuid, {
        guid: box.guid,
        type: 'mam_Devices',
        fields: {
          cuid: box.cuid,
          name: box.name,
          disabled: box.disabled,
          blacklisted: box.blacklisted,
          domain: 'fleetgraph',
          sysCreated: created,
          sysModified: created,
          sysVersion: 1,
        },
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

  private authorize(request: EmulatorRequest): EmulatorReply | undefined {
    const header = request.headers[BOX_API_KEY_HEADER];
    const presented = Buffer.from(typeof header === 'string' ? header : '');
    const known = this.apiKeys.some(
      (key) => key.length === presented.length && timingSafeEqual(key, presented),
    );
    return known ? undefined : boxError(401, BOX_ERROR_MESSAGES.unauthorised);
  }

  private addRoutes(): void {
    const api = (path: string): string => BOX_API_PREFIX + path;
    this.http.route(['GET', 'POST'], api(BOX_PATHS.list), () => {
      const list = [...this.devices.values()];
      const body: BoxDeviceListResponse = { status: 'ok', count: list.length, list };
      return { status: 200, body };
    });
    this.http.route('POST', api(BOX_PATHS.read), (r) =>
      this.withDevice(r, (device) => this.readReply(device)),
    );
    this.http.route('POST', api(BOX_PATHS.update), (r) => this.update(r));
    this.http.route('POST', api(BOX_PATHS.listApps), (r) =>
      this.withDevice(r, (d) => this.listReply(this.apps.get(d.fields.cuid) ?? [])),
    );
    this.http.route('POST', api(BOX_PATHS.listUsers), (r) =>
      this.withDevice(r, (d) => this.listReply(this.users.get(d.fields.cuid) ?? [])),
    );
    this.http.controlRoute('GET', '/openapi.json', () => ({ status: 200, body: boxOpenApi() }));
  }

  private readReply(device: BoxDeviceRecord): EmulatorReply {
    const body: BoxDeviceReadResponse = { status: 'ok', ...device };
    return { status: 200, body };
  }

  private listReply<T>(list: T[]): EmulatorReply {
    const body: BoxListResponse<T> = { status: 'ok', count: list.length, list };
    return { status: 200, body };
  }

  private withDevice(
    request: EmulatorRequest,
    answer: (device: BoxDeviceRecord, body: Record<string, unknown>) => EmulatorReply,
  ): EmulatorReply {
    const parsed = parseJsonBody(request);
    if (
      !parsed.ok ||
      typeof parsed.value !== 'object' ||
      parsed.value === null ||
      Array.isArray(parsed.value)
    ) {
      return boxError(400, BOX_ERROR_MESSAGES.badBody);
    }
    const body = parsed.value as Record<string, unknown>;
    const { cuid } = body;
    if (typeof cuid !== 'string' || cuid === '') return boxError(400, BOX_ERROR_MESSAGES.missingCuid);
    const device = this.devices.get(cuid);
    return device ? answer(device, body) : boxError(404, BOX_ERROR_MESSAGES.notFound.replace('%s', cuid));
  }

  private update(request: EmulatorRequest): EmulatorReply {
    return this.withDevice(request, (device, body) => {
      const { name, disabled, blacklisted } = body;
      for (const [field, value, type] of [
        ['name', name, 'string'],
        ['disabled', disabled, 'boolean'],
        ['blacklisted', blacklisted, 'boolean'],
      ] as const) {
        if (value !== undefined && typeof value !== type)
          return boxError(400, BOX_ERROR_MESSAGES.badField.replace('%s', field));
      }
      const fields = device.fields;
      const updated: BoxDeviceRecord = {
        ...device,
        fields: {
          ...fields,
          name: (name as string | undefined) ?? fields.name,
          disabled: (disabled as boolean | undefined) ?? fields.disabled,
          blacklisted: (blacklisted as boolean | undefined) ?? fields.blacklisted,
          sysModified: rhmapTimestamp(Date.now()),
          sysVersion: (fields.sysVersion ?? 0) + 1,
        },
      };
      this.devices.set(fields.cuid, updated);
      return this.readReply(updated);
    });
  }
}
