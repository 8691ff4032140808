import type { DeviceAccess, DeviceAccessChange, DeviceApp, DeviceAppUser } from '../../domain/fleet.js';
import { UpstreamError } from '../errors.js';
import type { UpstreamHttp } from '../upstream-http.js';
import { toDeviceAccess, toDeviceApp, toDeviceAppUser } from './box.mapper.js';
import { BOX_API_KEY_HEADER, BOX_API_PREFIX, BOX_PATHS } from './box.wire.js';
import type {
  BoxAppRecord,
  BoxDeviceListResponse,
  BoxDeviceReadResponse,
  BoxDeviceUpdateRequest,
  BoxDeviceUserRecord,
  BoxErrorResponse,
  BoxListResponse,
} from './box.wire.js';

type BoxAnswer<T> = (T & { status: 'ok' }) | BoxErrorResponse;

/** Box admin devices API: JSON POSTs with the API key header; an unknown cuid (404) becomes null. */
export class BoxClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly apiKey: string,
  ) {}

  async listDevices(): Promise<DeviceAccess[]> {
    const body = await this.call<BoxDeviceListResponse>(BOX_PATHS.list, {});
    return body!.list.map(toDeviceAccess);
  }

  async readDevice(cuid: string): Promise<DeviceAccess | null> {
    const body = await this.call<BoxDeviceReadResponse>(BOX_PATHS.read, { cuid }, true);
    return body ? toDeviceAccess(body) : null;
  }

  /** Never retried: a repeated update could undo a change made in between. */
  async updateDevice(cuid: string, change: DeviceAccessChange): Promise<DeviceAccess | null> {
    const request: BoxDeviceUpdateRequest = { cuid };
    if (change.name !== undefined) request.name = change.name;
    if (change.loginBlocked !== undefined) request.disabled = change.loginBlocked;
    if (change.purgeAppDataOnNextLogin !== undefined) request.blacklisted = change.purgeAppDataOnNextLogin;
    const body = await this.call<BoxDeviceReadResponse>(BOX_PATHS.update, request, true);
    return body ? toDeviceAccess(body) : null;
  }

  async listApps(cuid: string): Promise<DeviceApp[] | null> {
    const body = await this.call<BoxListResponse<BoxAppRecord>>(BOX_PATHS.listApps, { cuid }, true);
    return body ? body.list.map(toDeviceApp) : null;
  }

  async listUsers(cuid: string): Promise<DeviceAppUser[] | null> {
    const body = await this.call<BoxListResponse<BoxDeviceUserRecord>>(BOX_PATHS.listUsers, { cuid }, true);
    return body ? body.list.map(toDeviceAppUser) : null;
  }

  private async call<T>(path: string, json: unknown, notFoundIsNull = false): Promise<T | null> {
    const request = {
      method: 'POST' as const,
      path: BOX_API_PREFIX + path,
      json,
      headers: { [BOX_API_KEY_HEADER]: this.apiKey },
      // Every call but update only reads.
      idempotent: path !== BOX_PATHS.update,
    };
    const endpoint = this.http.endpoint(request);
    const response = await this.http.send(request);
    if (response.status === 404 && notFoundIsNull) return null;
    let body: BoxAnswer<T> | undefined;
    if (response.status === 200) body = this.http.parseJson<BoxAnswer<T>>(response, endpoint);
    else {
      try {
        body = JSON.parse(response.body) as BoxAnswer<T>;
      } catch {
        // the status alone explains it
      }
      throw this.http.statusError(response, endpoint, {
        message: body && body.status === 'error' ? body.message : undefined,
      });
    }
    if (body.status !== 'ok') {
      throw new UpstreamError(
        'UPSTREAM_ERROR',
        `Box answered status "${String(body.status)}" on ${endpoint}: ${(body as BoxErrorResponse).message ?? ''}`,
        {
          upstream: 'BOX',
          endpoint,
          status: response.status,
        },
      );
    }
    return body;
  }
}
