import type { z } from 'zod';
import type { DeviceAccess, DeviceAccessChange, DeviceApp, DeviceAppUser } from '../../domain/fleet.js';
import { UpstreamError } from '../errors.js';
import type { UpstreamHttp, UpstreamResponse } from '../upstream-http.js';
import { toDeviceAccess, toDeviceApp, toDeviceAppUser } from './box.mapper.js';
import {
  BOX_API_KEY_HEADER,
  BOX_API_PREFIX,
  BOX_PATHS,
  BoxDeviceAppListAnswer,
  BoxDeviceListAnswer,
  BoxDeviceReadAnswer,
  BoxDeviceUserListAnswer,
  BoxErrorBody,
  boxErrorMessage,
} from './box.wire.js';
import type {
  BoxCuidRequest,
  BoxDeviceUpdateRequest,
  BoxErrorResponse,
  BoxListDevicesRequest,
} from './box.wire.js';

type BoxError = z.output<typeof BoxErrorResponse>;

function isBoxError(answer: { status: string }): answer is BoxError {
  return answer.status === 'error';
}

/**
 * Box admin devices API: JSON POSTs with the API key header, every answer read through box.wire.ts.
 * An unknown cuid (404) becomes null; any other failure is an UpstreamError naming Box and the endpoint.
 */
export class BoxClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly apiKey: string,
  ) {}

  async listDevices(): Promise<DeviceAccess[]> {
    const request: BoxListDevicesRequest = {};
    const { response, endpoint } = await this.send(BOX_PATHS.list, request);
    return this.read(response, endpoint, BoxDeviceListAnswer).list.map(toDeviceAccess);
  }

  async readDevice(cuid: string): Promise<DeviceAccess | null> {
    const request: BoxCuidRequest = { cuid };
    const answer = await this.callForDevice(BOX_PATHS.read, request, BoxDeviceReadAnswer);
    return answer && toDeviceAccess(answer);
  }

  /** Never retried: a repeated update could undo a change made in between. */
  async updateDevice(cuid: string, change: DeviceAccessChange): Promise<DeviceAccess | null> {
    const request: BoxDeviceUpdateRequest = { cuid };
    if (change.name !== undefined) request.name = change.name;
    if (change.loginBlocked !== undefined) request.disabled = change.loginBlocked;
    if (change.purgeAppDataOnNextLogin !== undefined) request.blacklisted = change.purgeAppDataOnNextLogin;
    const answer = await this.callForDevice(BOX_PATHS.update, request, BoxDeviceReadAnswer);
    return answer && toDeviceAccess(answer);
  }

  async listApps(cuid: string): Promise<DeviceApp[] | null> {
    const request: BoxCuidRequest = { cuid };
    const answer = await this.callForDevice(BOX_PATHS.listApps, request, BoxDeviceAppListAnswer);
    return answer && answer.list.map(toDeviceApp);
  }

  async listUsers(cuid: string): Promise<DeviceAppUser[] | null> {
    const request: BoxCuidRequest = { cuid };
    const answer = await this.callForDevice(BOX_PATHS.listUsers, request, BoxDeviceUserListAnswer);
    return answer && answer.list.map(toDeviceAppUser);
  }

  /** A call about one device; null when Box does not know its cuid (ASSUMED: HTTP 404, undocumented). */
  private async callForDevice<T extends { status: 'ok' }>(
    path: string,
    request: BoxCuidRequest,
    schema: z.ZodType<T | BoxError>,
  ): Promise<T | null> {
    const { response, endpoint } = await this.send(path, request);
    return response.status === 404 ? null : this.read(response, endpoint, schema);
  }

  private async send(path: string, json: object): Promise<{ response: UpstreamResponse; endpoint: string }> {
    const request = {
      method: 'POST' as const,
      path: BOX_API_PREFIX + path,
      json,
      headers: { [BOX_API_KEY_HEADER]: this.apiKey },
      // Every call but update only reads.
      idempotent: path !== BOX_PATHS.update,
    };
    return { response: await this.http.send(request), endpoint: this.http.endpoint(request) };
  }

  /**
   * The answer read through `schema` (success body or error envelope); an HTTP error status or a 200
   * carrying `status: "error"` becomes an UpstreamError with Box's message in either spelling.
   */
  private read<T extends { status: 'ok' }>(
    response: UpstreamResponse,
    endpoint: string,
    schema: z.ZodType<T | BoxError>,
  ): T {
    if (response.status !== 200) {
      // A body that is not Box's (an HTML error page) reads as no message: the status says enough.
      const message = boxErrorMessage(this.http.readErrorBody(response, BoxErrorBody));
      throw this.http.statusError(response, endpoint, message ? { message } : undefined);
    }
    const answer = this.http.readJson(response, schema, endpoint);
    if (isBoxError(answer)) {
      throw new UpstreamError(
        'UPSTREAM_ERROR',
        `Box answered status "error" on ${endpoint}: ${boxErrorMessage(answer) ?? 'no message given'}`,
        { upstream: 'BOX', endpoint, status: response.status },
      );
    }
    return answer;
  }
}
