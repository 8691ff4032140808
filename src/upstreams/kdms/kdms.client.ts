import type { z } from 'zod';
import type { ClientCredentialsTokenProvider } from '../auth/client-credentials.js';
import type { UpstreamHttp, UpstreamRequest } from '../upstream-http.js';
import { toRegistrationPage } from './kdms.mapper.js';
import type { RegistrationPage } from './kdms.mapper.js';
import {
  KDMS_DEFAULT_PAGE_SIZE,
  KDMS_PATHS,
  KWN_CERTIFICATE_PATH,
  KWN_SUBSCRIPTIONS_PATH,
  KdmsErrorResponse,
  KdmsGetDevicesResponse,
  KdmsOperationAccepted,
  KwnErrorResponse,
  KwnSubscription,
  KwnSubscriptionList,
} from './kdms.wire.js';
import type {
  KdmsDeviceOperationRequest,
  KdmsGetDevicesRequest,
  KwnSubscriptionRequest,
} from './kdms.wire.js';

export interface KdmsClientUrls {
  /** Host serving /kwn/v1/subscriptions (Knox Webhook Notification). */
  kwnUrl: string;
  /** The Knox validation certificate (PEM) that signs webhook callbacks. */
  certificateUrl: string;
}

/**
 * Knox Device Management Service and Knox Webhook Notification: one typed method per endpoint. Every
 * answer is read through its schema in kdms.wire.ts; an answer that does not fit is UPSTREAM_ERROR naming
 * KDMS, the endpoint and the JSON path.
 */
export class KdmsClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly tokens: ClientCredentialsTokenProvider,
    private readonly urls: KdmsClientUrls,
  ) {}

  /** Asynchronous: KDMS answers 202 and reports per-device results later through a webhook. Never retried. */
  uploadDevices(request: KdmsDeviceOperationRequest): Promise<KdmsOperationAccepted> {
    return this.call({ method: 'POST', path: KDMS_PATHS.upload, json: request }, KdmsOperationAccepted);
  }

  /** Asynchronous, like upload. Never retried. */
  deleteDevices(request: KdmsDeviceOperationRequest): Promise<KdmsOperationAccepted> {
    return this.call({ method: 'POST', path: KDMS_PATHS.delete, json: request }, KdmsOperationAccepted);
  }

  async getDevices(request: KdmsGetDevicesRequest): Promise<RegistrationPage> {
    const page = await this.call(
      { method: 'POST', path: KDMS_PATHS.getDevices, json: request, idempotent: true },
      KdmsGetDevicesResponse,
    );
    return toRegistrationPage(page, request.pageSize ?? KDMS_DEFAULT_PAGE_SIZE);
  }

  /** The PEM certificate itself: text, not JSON, so there is no schema to read it with. */
  async downloadCertificate(): Promise<string> {
    const request = { method: 'GET' as const, path: KWN_CERTIFICATE_PATH, idempotent: true };
    const response = await this.http.send(request, this.urls.certificateUrl);
    if (response.status !== 200)
      throw this.http.statusError(response, `GET ${new URL(this.urls.certificateUrl).pathname}`);
    return response.body;
  }

  async listSubscriptions(): Promise<KwnSubscription[]> {
    const list = await this.call(
      { method: 'GET', path: KWN_SUBSCRIPTIONS_PATH, idempotent: true },
      KwnSubscriptionList,
      this.urls.kwnUrl,
    );
    return list.subscriptions;
  }

  createSubscription(request: KwnSubscriptionRequest): Promise<KwnSubscription> {
    return this.call(
      { method: 'POST', path: KWN_SUBSCRIPTIONS_PATH, json: request },
      KwnSubscription,
      this.urls.kwnUrl,
    );
  }

  updateSubscription(subscriptionId: string, request: KwnSubscriptionRequest): Promise<KwnSubscription> {
    const path = `${KWN_SUBSCRIPTIONS_PATH}/${encodeURIComponent(subscriptionId)}`;
    return this.call({ method: 'PUT', path, json: request }, KwnSubscription, this.urls.kwnUrl);
  }

  /**
   * Sends one authorized request and reads a success answer through `answer`. `kwnHost` replaces the API
   * base for the KWN endpoints, which live at the Knox cloud host root and speak their own error body.
   */
  private async call<S extends z.ZodType>(
    request: UpstreamRequest,
    answer: S,
    kwnHost?: string,
  ): Promise<z.output<S>> {
    const url = kwnHost ? kwnHost.replace(/\/+$/, '') + request.path : undefined;
    const endpoint = url ? `${request.method} ${new URL(url).pathname}` : this.http.endpoint(request);
    const response = await this.tokens.authorized((token) =>
      this.http.send({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }, url),
    );
    if (response.status >= 200 && response.status < 300)
      return this.http.readJson(response, answer, endpoint);
    // The upstream's own words when it sent a body we can read; the status alone explains it otherwise.
    const detail = this.http.readErrorBody(response, kwnHost ? KwnErrorResponse : KdmsErrorResponse);
    throw this.http.statusError(response, endpoint, {
      code: detail?.code ?? undefined,
      message: detail?.message ?? undefined,
    });
  }
}
