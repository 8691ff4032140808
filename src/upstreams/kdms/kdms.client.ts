import type { DeviceRegistration } from '../../domain/fleet.js';
import type { ClientCredentialsTokenProvider } from '../auth/client-credentials.js';
import type { UpstreamHttp, UpstreamRequest, UpstreamResponse } from '../upstream-http.js';
import { toDeviceRegistration } from './kdms.mapper.js';
import { KDMS_PATHS } from './kdms.wire.js';
import type { KdmsErrorResponse, KdmsGetDevicesRequest, KdmsGetDevicesResponse } from './kdms.wire.js';

export interface RegistrationPage {
  registrations: DeviceRegistration[];
  totalCount: number;
  nextSearchAfter: string | null;
}

/** Knox Device Management Service: one typed method per endpoint, Bearer tokens from the provider. */
export class KdmsClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly tokens: ClientCredentialsTokenProvider,
  ) {}

  async getDevices(request: KdmsGetDevicesRequest): Promise<RegistrationPage> {
    const body = await this.call<KdmsGetDevicesResponse>({
      method: 'POST',
      path: KDMS_PATHS.getDevices,
      json: request,
    });
    return {
      registrations: body.devices.map(toDeviceRegistration),
      totalCount: body.totalCount,
      nextSearchAfter: body.nextSearchAfter,
    };
  }

  private async call<T>(request: UpstreamRequest): Promise<T> {
    const endpoint = this.http.endpoint(request);
    const response: UpstreamResponse = await this.tokens.authorized((token) =>
      this.http.send({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }),
    );
    if (response.status >= 200 && response.status < 300) return this.http.parseJson<T>(response, endpoint);
    let detail: Partial<KdmsErrorResponse> = {};
    try {
      detail = JSON.parse(response.body) as KdmsErrorResponse;
    } catch {
      // the status alone explains it
    }
    throw this.http.statusError(response, endpoint, { code: detail.code, message: detail.message });
  }
}
