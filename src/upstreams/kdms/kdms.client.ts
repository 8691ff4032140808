import type { DeviceRegistration } from '../../domain/fleet.js';
import type { ClientCredentialsTokenProvider } from '../auth/client-credentials.js';
import type { UpstreamHttp, UpstreamRequest, UpstreamResponse } from '../upstream-http.js';
import { toDeviceRegistration } from './kdms.mapper.js';
import { KDMS_PATHS, KWN_CERTIFICATE_PATH, KWN_SUBSCRIPTIONS_PATH } from './kdms.wire.js';
import type {
  KdmsDeviceOperationRequest,
  KdmsErrorResponse,
  KdmsGetDevicesRequest,
  KdmsGetDevicesResponse,
  KdmsOperationAccepted,
  KwnSubscription,
  KwnSubscriptionList,
  KwnSubscriptionRequest,
} from './kdms.wire.js';

export interface RegistrationPage {
  registrations: DeviceRegistration[];
  totalCount: number;
  nextSearchAfter: string | null;
}

export interface KdmsClientUrls {
  /** Host serving /kwn/v1/subscriptions (Knox Webhook Notification). */
  kwnUrl: string;
  /** The Knox validation certificate (PEM) that signs webhook callbacks. */
  certificateUrl: string;
}

/** Knox Device Management Service and Knox Webhook Notification: one typed method per endpoint. */
export class KdmsClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly tokens: ClientCredentialsTokenProvider,
    private readonly urls: KdmsClientUrls,
  ) {}

  /** Asynchronous: KDMS answers 202 and reports per-device results later through a webhook. Never retried. */
  uploadDevices(request: KdmsDeviceOperationRequest): Promise<KdmsOperationAccepted> {
    return this.call<KdmsOperationAccepted>({ method: 'POST', path: KDMS_PATHS.upload, json: request });
  }

  /** Asynchronous, like upload. Never retried. */
  deleteDevices(request: KdmsDeviceOperationRequest): Promise<KdmsOperationAccepted> {
    return this.call<KdmsOperationAccepted>({ method: 'POST', path: KDMS_PATHS.delete, json: request });
  }

  async downloadCertificate(): Promise<string> {
    const request = { method: 'GET' as const, path: KWN_CERTIFICATE_PATH, idempotent: true };
    const response = await this.http.send(request, this.urls.certificateUrl);
    if (response.status !== 200)
      throw this.http.statusError(response, `GET ${new URL(this.urls.certificateUrl).pathname}`);
    return response.body;
  }

  async listSubscriptions(): Promise<KwnSubscription[]> {
    return (
      await this.call<KwnSubscriptionList>(
        { method: 'GET', path: KWN_SUBSCRIPTIONS_PATH, idempotent: true },
        this.urls.kwnUrl,
      )
    ).subscriptions;
  }

  createSubscription(request: KwnSubscriptionRequest): Promise<KwnSubscription> {
    return this.call<KwnSubscription>(
      { method: 'POST', path: KWN_SUBSCRIPTIONS_PATH, json: request },
      this.urls.kwnUrl,
    );
  }

  updateSubscription(subscriptionId: string, request: KwnSubscriptionRequest): Promise<KwnSubscription> {
    const path = `${KWN_SUBSCRIPTIONS_PATH}/${encodeURIComponent(subscriptionId)}`;
    return this.call<KwnSubscription>({ method: 'PUT', path, json: request }, this.urls.kwnUrl);
  }

  async getDevices(request: KdmsGetDevicesRequest): Promise<RegistrationPage> {
    const body = await this.call<KdmsGetDevicesResponse>({
      method: 'POST',
      path: KDMS_PATHS.getDevices,
      json: request,
      idempotent: true,
    });
    return {
      registrations: body.devices.map(toDeviceRegistration),
      totalCount: body.totalCount,
      nextSearchAfter: body.nextSearchAfter,
    };
  }

  /** `host` replaces the API base for the KWN endpoints, which live at the Knox cloud host root. */
  private async call<T>(request: UpstreamRequest, host?: string): Promise<T> {
    const url = host ? host.replace(/\/+$/, '') + request.path : undefined;
    const endpoint = url ? `${request.method} ${new URL(url).pathname}` : this.http.endpoint(request);
    const response: UpstreamResponse = await this.tokens.authorized((token) =>
      this.http.send({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }, url),
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
