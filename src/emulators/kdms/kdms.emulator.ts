import { randomBytes, randomUUID } from 'node:crypto';
import { deviceIdentifierKind } from '../../domain/device-identifiers.js';
import {
  KDMS_API_PREFIX,
  KDMS_DEFAULT_PAGE_SIZE,
  KDMS_DEVICE_NOT_FOUND_MESSAGE,
  KDMS_ERROR_CODES,
  KDMS_MAX_DEVICES_PER_OPERATION,
  KDMS_MAX_IDS_PER_GET,
  KDMS_MAX_PAGE_SIZE,
  KDMS_PATHS,
  KDMS_SCOPES,
  KDMS_TARGET_SERVICES,
  KDMS_TOKEN_PATH,
  KNOX_TOKEN_DEFAULT_TTL_SECONDS,
  KNOX_TOKEN_MAX_TTL_SECONDS,
  KWN_CERTIFICATE_PATH,
  KWN_EVENTS,
  KWN_SIGNATURE_HEADER,
  KWN_SUBSCRIPTIONS_PATH,
  KWN_TRACE_ID_HEADER,
  kdmsErrorMessage,
} from '../../upstreams/kdms/kdms.wire.js';
import type {
  KdmsDevice,
  KdmsDeviceResult,
  KdmsErrorCode,
  KdmsErrorResponse,
  KdmsGetDevicesResponse,
  KdmsOperationAccepted,
  KdmsScope,
  KdmsTargetService,
  KnoxTokenResponse,
  KwnErrorResponse,
  KwnKdmsEvent,
  KwnKdmsEventNotification,
  KwnSubscription,
  OAuthErrorResponse,
} from '../../upstreams/kdms/kdms.wire.js';
import { HttpEmulator, bearerToken, parseFormBody, parseJsonBody } from '../core/http-emulator.js';
import type { EmulatorReply, EmulatorRequest } from '../core/http-emulator.js';
import type { FaultSettings } from '../core/faults.js';
import { OAuthTokenStore } from '../core/oauth-token-store.js';
import { createSeededRandom } from '../core/seeded-random.js';
import type { SeededFleet } from '../fleet/seeded-fleet.js';
import { DEV_CREDENTIALS } from '../dev-credentials.js';
import { kdmsOpenApi } from './kdms.openapi.js';
import { createWebhookSigner } from './webhook-signer.js';
import type { WebhookSigner } from './webhook-signer.js';

/**
 * Knox Device Management Service, its OAuth 2.0 token endpoint and Knox Webhook Notification, as one
 * HTTP server (the real ones share the host api.samsungknox.com). Uploads and deletes are accepted with
 * 202 and settled after `asyncDelayMs`; then every subscription to the event receives a signed callback.
 */

export type WebhookMode = 'deliver' | 'drop' | 'duplicate';

export interface KdmsAsyncSettings {
  /** How long an upload or delete stays in progress before it settles (default 2,000 ms). */
  asyncDelayMs: number;
  /** `drop` loses callbacks (the polling fallback's case), `duplicate` sends each twice. */
  webhookMode: WebhookMode;
  /** Delivery attempts per callback, for non-2xx answers or network errors (default 3). */
  webhookAttempts: number;
  /** Delay before the second attempt, doubled for each further one (default 1,000 ms). */
  webhookRetryDelayMs: number;
  /** `attached` (default): the JWS payload is the body, as third-party receivers expect; `detached`:
   * `header..signature`, which keeps large callbacks' headers small. */
  webhookSignature: 'attached' | 'detached';
}

export interface KdmsEmulatorOptions {
  fleet: SeededFleet;
  faults?: Partial<FaultSettings>;
  /** Lifetime of tokens when the request names none (documented default: 600 s). */
  tokenTtlSeconds?: number;
  /** Extra OAuth clients beside the development one; each gets every KDMS scope unless it lists some. */
  clients?: Array<{ clientId: string; clientSecret: string; scopes?: KdmsScope[] }>;
  async?: Partial<KdmsAsyncSettings>;
}

export interface WebhookDelivery {
  eventId: string;
  eventType: KwnKdmsEvent;
  uploadId: string;
  subscriptionId: string;
  callbackUrl: string;
  attempts: number;
  outcome: 'pending' | 'delivered' | 'failed' | 'dropped';
  lastStatus: number | null;
  lastError: string | null;
}

interface PendingOperation {
  uploadId: string;
  event: KwnKdmsEvent;
  deviceIds: string[];
  targetServices: KdmsTargetService[];
  timer: NodeJS.Timeout;
}

const ALL_SCOPES: KdmsScope[] = Object.values(KDMS_SCOPES);
const SCOPES_FOR = {
  upload: [KDMS_SCOPES.all, KDMS_SCOPES.upload],
  delete: [KDMS_SCOPES.all, KDMS_SCOPES.delete, KDMS_SCOPES.kaiDelete],
  read: [KDMS_SCOPES.all, KDMS_SCOPES.read],
  subscriptions: [KDMS_SCOPES.all, KDMS_SCOPES.upload, KDMS_SCOPES.delete],
} as const;

function kdmsError(status: number, code: KdmsErrorCode, details?: string[], message?: string): EmulatorReply {
  const body: KdmsErrorResponse = {
    code,
    message: message ?? KDMS_ERROR_CODES[code],
    ...(details ? { details } : {}),
  };
  return { status, body };
}

function kwnError(status: number, code: KwnErrorResponse['code'], message: string): EmulatorReply {
  const body: KwnErrorResponse = { code, message };
  return { status, body };
}

function oauthError(status: number, error: OAuthErrorResponse['error'], description: string): EmulatorReply {
  const body: OAuthErrorResponse = { error, error_description: description };
  return { status, body, headers: { 'cache-control': 'no-store' } };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class KdmsEmulator {
  readonly http: HttpEmulator;
  readonly tokens = new OAuthTokenStore('opaque');
  readonly deliveries: WebhookDelivery[] = [];
  private readonly fleet: SeededFleet;
  private readonly devices = new Map<string, KdmsDevice>();
  /** Sorted device ids: getDevices pages in this order, and `searchAfter` is a position in it. */
  private sortedIds: string[] = [];
  /** IMEI, secondary IMEI or serial number → KDMS device id. */
  private readonly byIdentifier = new Map<string, string>();
  private readonly foreignImeis: Set<string>;
  private readonly subscriptions = new Map<string, KwnSubscription>();
  private readonly pending = new Map<string, PendingOperation>();
  private readonly inFlightDeliveries = new Set<Promise<void>>();
  private readonly clients = new Map<string, { secret: string; scopes: KdmsScope[] }>();
  private readonly tokenTtlSeconds: number;
  private settings: KdmsAsyncSettings;

  private constructor(
    options: KdmsEmulatorOptions,
    private readonly signer: WebhookSigner,
  ) {
    this.fleet = options.fleet;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? KNOX_TOKEN_DEFAULT_TTL_SECONDS;
    this.settings = {
      asyncDelayMs: 2000,
      webhookMode: 'deliver',
      webhookAttempts: 3,
      webhookRetryDelayMs: 1000,
      webhookSignature: 'attached',
      ...options.async,
    };
    this.foreignImeis = new Set(options.fleet.foreignImeis);
    const dev = DEV_CREDENTIALS.kdms;
    this.clients.set(dev.clientId, { secret: dev.clientSecret, scopes: ALL_SCOPES });
    for (const c of options.clients ?? [])
      this.clients.set(c.clientId, { secret: c.clientSecret, scopes: c.scopes ?? ALL_SCOPES });
    this.loadFleet();
    this.http = new HttpEmulator({
      name: 'kdms',
      random: createSeededRandom(`${options.fleet.seed}/kdms-faults`),
      faults: options.faults,
      errorBody: (status, message) => this.errorBodyFor(status, message),
    });
    this.addRoutes();
  }

  static async create(options: KdmsEmulatorOptions): Promise<KdmsEmulator> {
    return new KdmsEmulator(options, await createWebhookSigner());
  }

  get certificatePem(): string {
    return this.signer.certificatePem;
  }

  get asyncSettings(): Readonly<KdmsAsyncSettings> {
    return this.settings;
  }

  /** Settles every pending upload and delete now, and waits until their callbacks are delivered. */
  async settlePending(): Promise<void> {
    for (const op of [...this.pending.values()]) {
      clearTimeout(op.timer);
      this.settle(op);
    }
    await this.drainDeliveries();
  }

  async drainDeliveries(): Promise<void> {
    while (this.inFlightDeliveries.size > 0) await Promise.allSettled([...this.inFlightDeliveries]);
  }

  async close(): Promise<void> {
    for (const op of this.pending.values()) clearTimeout(op.timer);
    this.pending.clear();
    await this.http.close();
  }

  // ---- data ------------------------------------------------------------------------------------------

  private loadFleet(): void {
    for (const d of this.fleet.devices) {
      if (!d.kdms) continue;
      this.putDevice({
        deviceId: d.kdms.deviceId,
        customerId: this.fleet.customerId,
        imei: d.imei,
        secondaryImei: d.secondaryImei,
        serialNumber: d.serialNumber,
        meid: d.meid,
        modelName: d.model,
        uploadId: d.kdms.uploadId,
        targetServices: ['KAI'],
        uploadedAt: d.kdms.uploadedAt,
      });
    }
    this.sortedIds = [...this.devices.keys()].sort();
  }

  private putDevice(device: KdmsDevice): void {
    this.devices.set(device.deviceId, device);
    for (const id of [device.imei, device.secondaryImei, device.serialNumber])
      if (id) this.byIdentifier.set(id, device.deviceId);
  }

  private insertSorted(deviceId: string): void {
    const at = lowerBound(this.sortedIds, deviceId);
    this.sortedIds.splice(at, 0, deviceId);
  }

  private removeDevice(deviceId: string): void {
    const device = this.devices.get(deviceId);
    if (!device) return;
    this.devices.delete(deviceId);
    for (const id of [device.imei, device.secondaryImei, device.serialNumber])
      if (id) this.byIdentifier.delete(id);
    const at = lowerBound(this.sortedIds, deviceId);
    if (this.sortedIds[at] === deviceId) this.sortedIds.splice(at, 1);
  }

  // ---- routes ----------------------------------------------------------------------------------------

  private errorBodyFor(status: number, message: string): KdmsErrorResponse {
    const code: KdmsErrorCode =
      status === 401
        ? 'UNAUTHORIZED'
        : status === 403
          ? 'FORBIDDEN'
          : status === 404
            ? 'NOT_FOUND'
            : status === 429
              ? 'TOO_MANY_REQUESTS'
              : status >= 500
                ? 'INTERNAL_SERVER_ERROR'
                : 'INVALID_PARAM';
    return { code, message };
  }

  private authorize(request: EmulatorRequest, accepted: readonly string[]): EmulatorReply | null {
    const check = this.tokens.check(bearerToken(request));
    if (!check.ok) {
      const description = {
        missing: 'Bearer token required',
        invalid: 'Invalid access token',
        expired: 'Access token expired',
      }[check.reason];
      return {
        ...kdmsError(401, 'UNAUTHORIZED', undefined, description),
        headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` },
      };
    }
    if (!check.grant.scopes.some((s) => accepted.includes(s))) {
      return {
        ...kdmsError(
          403,
          'FORBIDDEN',
          [...accepted],
          `This operation needs one of the scopes: ${accepted.join(', ')}`,
        ),
        headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${accepted.join(' ')}"` },
      };
    }
    return null;
  }

  private addRoutes(): void {
    const http = this.http;
    http.route('POST', KDMS_TOKEN_PATH, (r) => this.issueToken(r));
    http.route('POST', KDMS_API_PREFIX + KDMS_PATHS.upload, (r) =>
      this.acceptOperation(r, KWN_EVENTS.upload),
    );
    http.route('POST', KDMS_API_PREFIX + KDMS_PATHS.delete, (r) =>
      this.acceptOperation(r, KWN_EVENTS.delete),
    );
    http.route('POST', KDMS_API_PREFIX + KDMS_PATHS.getDevices, (r) => this.getDevices(r));
    http.route('POST', KWN_SUBSCRIPTIONS_PATH, (r) => this.createSubscription(r));
    http.route('GET', KWN_SUBSCRIPTIONS_PATH, (r) => this.listSubscriptions(r));
    http.route('GET', `${KWN_SUBSCRIPTIONS_PATH}/{subscriptionId}`, (r) => this.getSubscription(r));
    http.route('PUT', `${KWN_SUBSCRIPTIONS_PATH}/{subscriptionId}`, (r) => this.updateSubscription(r));
    http.route('DELETE', `${KWN_SUBSCRIPTIONS_PATH}/{subscriptionId}`, (r) => this.deleteSubscription(r));
    http.route('GET', KWN_CERTIFICATE_PATH, () => ({
      status: 200,
      text: this.signer.certificatePem,
      contentType: 'application/x-pem-file',
    }));
    http.controlRoute('GET', '/openapi.json', () => ({ status: 200, body: kdmsOpenApi() }));
    http.controlRoute('POST', '/_emulator/tokens/expire', () => ({
      status: 200,
      body: { expired: this.tokens.expireAll() },
    }));
    http.controlRoute('GET', '/_emulator/webhooks', () => ({
      status: 200,
      body: { deliveries: this.deliveries },
    }));
    http.controlRoute('GET', '/_emulator/async', () => ({ status: 200, body: this.settings }));
    http.controlRoute('PUT', '/_emulator/async', (r) => this.updateAsyncSettings(r));
    http.controlRoute('POST', '/_emulator/async/settle', async () => {
      await this.settlePending();
      return { status: 204 };
    });
  }

  private issueToken(request: EmulatorRequest): EmulatorReply {
    const form = parseFormBody(request);
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (basic?.[1]) {
      const [id, ...secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret.join(':'));
    }
    const client = clientId ? this.clients.get(clientId) : undefined;
    if (!client || client.secret !== clientSecret)
      return oauthError(401, 'invalid_client', 'Client authentication failed');
    const requested = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    const unknown = requested.filter((s) => !client.scopes.includes(s as KdmsScope));
    if (unknown.length)
      return oauthError(400, 'invalid_scope', `Scope not granted to this client: ${unknown.join(' ')}`);
    let ttl = this.tokenTtlSeconds;
    const expiresIn = form.get('expires_in');
    if (expiresIn !== null) {
      const n = Number(expiresIn);
      if (!Number.isInteger(n) || n < 1 || n > KNOX_TOKEN_MAX_TTL_SECONDS) {
        return oauthError(
          400,
          'invalid_request',
          `expires_in must be a whole number of seconds from 1 to ${KNOX_TOKEN_MAX_TTL_SECONDS}`,
        );
      }
      ttl = n;
    }
    const scopes = requested.length ? requested : client.scopes;
    const { token } = this.tokens.issue(clientId!, scopes, ttl);
    const body: KnoxTokenResponse = {
      access_token: token,
      scope: scopes.join(' '),
      expires_in: ttl,
      token_type: 'Bearer',
    };
    return { status: 200, body, headers: { 'cache-control': 'no-store' } };
  }

  private acceptOperation(request: EmulatorRequest, event: KwnKdmsEvent): EmulatorReply {
    const denied = this.authorize(
      request,
      event === KWN_EVENTS.upload ? SCOPES_FOR.upload : SCOPES_FOR.delete,
    );
    if (denied) return denied;
    const parsed = parseJsonBody(request);
    if (!parsed.ok || !isRecord(parsed.value))
      return kdmsError(400, 'INVALID_PARAM', ['body must be a JSON object']);
    const { deviceIds, targetServices } = parsed.value;
    const problems: string[] = [];
    if (!isStringArray(deviceIds) || deviceIds.length === 0)
      problems.push('deviceIds must be a non-empty array of strings');
    else if (deviceIds.length > KDMS_MAX_DEVICES_PER_OPERATION)
      problems.push(`deviceIds holds at most ${KDMS_MAX_DEVICES_PER_OPERATION} ids`);
    if (
      !isStringArray(targetServices) ||
      targetServices.length === 0 ||
      !targetServices.every((s) => (KDMS_TARGET_SERVICES as readonly string[]).includes(s))
    ) {
      problems.push(`targetServices must be a non-empty array of ${KDMS_TARGET_SERVICES.join(', ')}`);
    }
    if (problems.length) return kdmsError(400, 'INVALID_PARAM', problems);
    const uploadId = randomUUID();
    const op: PendingOperation = {
      uploadId,
      event,
      deviceIds: deviceIds as string[],
      targetServices: targetServices as KdmsTargetService[],
      timer: setTimeout(() => {
        if (this.pending.delete(uploadId)) this.settle(op);
      }, this.settings.asyncDelayMs),
    };
    op.timer.unref();
    this.pending.set(uploadId, op);
    const body: KdmsOperationAccepted = { uploadId, status: 'IN_PROGRESS', deviceCount: op.deviceIds.length };
    return { status: 202, body };
  }

  private settle(op: PendingOperation): void {
    this.pending.delete(op.uploadId);
    const results = op.event === KWN_EVENTS.upload ? this.applyUpload(op) : this.applyDelete(op);
    const successCount = results.filter((r) => r.status === 'SUCCESS').length;
    const notification: KwnKdmsEventNotification = {
      eventId: randomUUID(),
      eventType: op.event,
      eventTime: new Date().toISOString(),
      customerId: this.fleet.customerId,
      data: {
        uploadId: op.uploadId,
        status:
          successCount === results.length
            ? 'COMPLETED'
            : successCount === 0
              ? 'FAILED'
              : 'PARTIALLY_COMPLETED',
        targetServices: op.targetServices,
        totalCount: results.length,
        successCount,
        failureCount: results.length - successCount,
        results,
      },
    };
    this.publish(notification);
  }

  private applyUpload(op: PendingOperation): KdmsDeviceResult[] {
    const now = new Date().toISOString();
    return op.deviceIds.map((id): KdmsDeviceResult => {
      const kind = deviceIdentifierKind(id);
      if (!kind) {
        return {
          deviceId: id,
          status: 'FAILURE',
          errorCode: 'INVALID_DEVICE_ID',
          errorMessage: kdmsErrorMessage(KDMS_ERROR_CODES.INVALID_DEVICE_ID, id),
        };
      }
      if (this.foreignImeis.has(id)) {
        return {
          deviceId: id,
          status: 'FAILURE',
          errorCode: 'IMEI_EXIST_IN_DIFFERENT_ACCOUNT',
          errorMessage: kdmsErrorMessage(KDMS_ERROR_CODES.IMEI_EXIST_IN_DIFFERENT_ACCOUNT, id),
        };
      }
      const existing = this.byIdentifier.get(id);
      if (existing) {
        // Uploading a device again is harmless; it now belongs to the latest upload.
        const device = this.devices.get(existing)!;
        this.devices.set(existing, { ...device, uploadId: op.uploadId, uploadedAt: now });
      } else {
        const deviceId = randomBytes(12).toString('hex');
        this.putDevice({
          deviceId,
          customerId: this.fleet.customerId,
          imei: kind === 'IMEI' ? id : null,
          secondaryImei: null,
          serialNumber: kind === 'SERIAL_NUMBER' ? id : null,
          meid: null,
          modelName: null,
          uploadId: op.uploadId,
          targetServices: op.targetServices,
          uploadedAt: now,
        });
        this.insertSorted(deviceId);
      }
      return { deviceId: id, status: 'SUCCESS' };
    });
  }

  private applyDelete(op: PendingOperation): KdmsDeviceResult[] {
    return op.deviceIds.map((id): KdmsDeviceResult => {
      const deviceId = this.byIdentifier.get(id);
      if (!deviceId) {
        return {
          deviceId: id,
          status: 'FAILURE',
          errorCode: 'INVALID_DEVICE_ID',
          errorMessage: kdmsErrorMessage(KDMS_DEVICE_NOT_FOUND_MESSAGE, id),
        };
      }
      this.removeDevice(deviceId);
      return { deviceId: id, status: 'SUCCESS' };
    });
  }

  private getDevices(request: EmulatorRequest): EmulatorReply {
    const denied = this.authorize(request, SCOPES_FOR.read);
    if (denied) return denied;
    const parsed = parseJsonBody(request);
    const input = parsed.ok ? (parsed.value ?? {}) : null;
    if (!isRecord(input)) return kdmsError(400, 'INVALID_PARAM', ['body must be a JSON object']);
    const { uploadId, deviceIds, searchAfter, pageSize = KDMS_DEFAULT_PAGE_SIZE } = input;
    const problems: string[] = [];
    if (uploadId !== undefined && (typeof uploadId !== 'string' || uploadId === ''))
      problems.push('uploadId must be a non-empty string');
    if (deviceIds !== undefined && (!isStringArray(deviceIds) || deviceIds.length > KDMS_MAX_IDS_PER_GET)) {
      problems.push(`deviceIds must be an array of at most ${KDMS_MAX_IDS_PER_GET} strings`);
    }
    if (searchAfter !== undefined && typeof searchAfter !== 'string')
      problems.push('searchAfter must be a device ID string');
    if (
      typeof pageSize !== 'number' ||
      !Number.isInteger(pageSize) ||
      pageSize < 1 ||
      pageSize > KDMS_MAX_PAGE_SIZE
    ) {
      problems.push(`pageSize must be a whole number from 1 to ${KDMS_MAX_PAGE_SIZE}`);
    }
    if (problems.length) return kdmsError(400, 'INVALID_PARAM', problems);

    let ids: string[];
    if (isStringArray(deviceIds)) {
      const found = new Set<string>();
      for (const id of deviceIds) {
        const deviceId = this.byIdentifier.get(id);
        if (deviceId) found.add(deviceId);
      }
      ids = [...found].sort();
    } else {
      ids = this.sortedIds;
    }
    if (typeof uploadId === 'string') ids = ids.filter((id) => this.devices.get(id)?.uploadId === uploadId);
    const from = typeof searchAfter === 'string' ? upperBound(ids, searchAfter) : 0;
    const page = ids.slice(from, from + (pageSize as number));
    const more = from + page.length < ids.length;
    const body: KdmsGetDevicesResponse = {
      devices: page.map((id) => this.devices.get(id)!),
      totalCount: ids.length,
      nextSearchAfter: more && page.length ? page[page.length - 1]! : null,
    };
    return { status: 200, body };
  }

  // ---- Knox Webhook Notification ---------------------------------------------------------------------

  private readSubscriptionBody(
    request: EmulatorRequest,
    excludeId: string | null,
  ): { callbackUrl: string; events: string[]; description: string | null } | EmulatorReply {
    const parsed = parseJsonBody(request);
    if (!parsed.ok || !isRecord(parsed.value))
      return kwnError(400, 'VALIDATION_ERROR', 'Validation error: body must be a JSON object');
    const { callbackUrl, events, description } = parsed.value;
    let url: URL | null = null;
    try {
      url = typeof callbackUrl === 'string' ? new URL(callbackUrl) : null;
    } catch {
      url = null;
    }
    if (!url || !/^https?:$/.test(url.protocol))
      return kwnError(400, 'VALIDATION_ERROR', 'Validation error: callbackUrl must be an http(s) URL');
    const known = Object.values(KWN_EVENTS) as string[];
    if (!isStringArray(events) || events.length === 0 || !events.every((e) => known.includes(e))) {
      return kwnError(
        400,
        'VALIDATION_ERROR',
        `Validation error: events must be a non-empty array of ${known.join(', ')}`,
      );
    }
    for (const sub of this.subscriptions.values()) {
      if (sub.subscriptionId === excludeId) continue;
      const taken = events.find((e) => sub.events.includes(e));
      if (taken)
        return kwnError(
          400,
          'VALIDATION_ERROR',
          `Validation error: event ${taken} is already subscribed by ${sub.subscriptionId}`,
        );
    }
    if (description !== undefined && description !== null && typeof description !== 'string') {
      return kwnError(400, 'VALIDATION_ERROR', 'Validation error: description must be a string');
    }
    return {
      callbackUrl: url.toString(),
      events: [...new Set(events)],
      description: (description as string | undefined) ?? null,
    };
  }

  private kwnAuthorize(request: EmulatorRequest): EmulatorReply | null {
    const denied = this.authorize(request, SCOPES_FOR.subscriptions);
    if (!denied) return null;
    return {
      ...kwnError(
        denied.status,
        denied.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN',
        (denied.body as KdmsErrorResponse).message,
      ),
      headers: denied.headers,
    };
  }

  private createSubscription(request: EmulatorRequest): EmulatorReply {
    const denied = this.kwnAuthorize(request);
    if (denied) return denied;
    const input = this.readSubscriptionBody(request, null);
    if ('status' in input) return input;
    const now = new Date().toISOString();
    const sub: KwnSubscription = {
      subscriptionId: randomUUID(),
      ...input,
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
    };
    this.subscriptions.set(sub.subscriptionId, sub);
    return { status: 201, body: sub };
  }

  private listSubscriptions(request: EmulatorRequest): EmulatorReply {
    return (
      this.kwnAuthorize(request) ?? { status: 200, body: { subscriptions: [...this.subscriptions.values()] } }
    );
  }

  private getSubscription(request: EmulatorRequest): EmulatorReply {
    const denied = this.kwnAuthorize(request);
    if (denied) return denied;
    const sub = this.subscriptions.get(request.params.subscriptionId ?? '');
    return sub ? { status: 200, body: sub } : kwnError(404, 'NOT_FOUND', 'Subscription not found');
  }

  private updateSubscription(request: EmulatorRequest): EmulatorReply {
    const denied = this.kwnAuthorize(request);
    if (denied) return denied;
    const sub = this.subscriptions.get(request.params.subscriptionId ?? '');
    if (!sub) return kwnError(404, 'NOT_FOUND', 'Subscription not found');
    const input = this.readSubscriptionBody(request, sub.subscriptionId);
    if ('status' in input) return input;
    const updated: KwnSubscription = { ...sub, ...input, updatedAt: new Date().toISOString() };
    this.subscriptions.set(sub.subscriptionId, updated);
    return { status: 200, body: updated };
  }

  private deleteSubscription(request: EmulatorRequest): EmulatorReply {
    const denied = this.kwnAuthorize(request);
    if (denied) return denied;
    return this.subscriptions.delete(request.params.subscriptionId ?? '')
      ? { status: 204 }
      : kwnError(404, 'NOT_FOUND', 'Subscription not found');
  }

  private updateAsyncSettings(request: EmulatorRequest): EmulatorReply {
    const parsed = parseJsonBody(request);
    if (!parsed.ok || !isRecord(parsed.value))
      return { status: 400, body: { problems: ['body must be a JSON object'] } };
    const next = { ...this.settings };
    const problems: string[] = [];
    for (const [key, value] of Object.entries(parsed.value)) {
      if (key === 'webhookSignature') {
        if (value === 'attached' || value === 'detached') next.webhookSignature = value;
        else problems.push('webhookSignature must be attached or detached');
      } else if (key === 'webhookMode') {
        if (value === 'deliver' || value === 'drop' || value === 'duplicate') next.webhookMode = value;
        else problems.push('webhookMode must be deliver, drop or duplicate');
      } else if (key === 'asyncDelayMs' || key === 'webhookAttempts' || key === 'webhookRetryDelayMs') {
        if (
          typeof value === 'number' &&
          Number.isInteger(value) &&
          value >= (key === 'webhookAttempts' ? 1 : 0)
        )
          next[key] = value;
        else problems.push(`${key} must be a whole number`);
      } else {
        problems.push(`unknown setting "${key}"`);
      }
    }
    if (problems.length) return { status: 400, body: { problems } };
    this.settings = next;
    return { status: 200, body: next };
  }

  private publish(notification: KwnKdmsEventNotification): void {
    const body = Buffer.from(JSON.stringify(notification), 'utf8');
    for (const sub of this.subscriptions.values()) {
      if (!sub.events.includes(notification.eventType)) continue;
      const copies = this.settings.webhookMode === 'duplicate' ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const delivery: WebhookDelivery = {
          eventId: notification.eventId,
          eventType: notification.eventType,
          uploadId: notification.data.uploadId,
          subscriptionId: sub.subscriptionId,
          callbackUrl: sub.callbackUrl,
          attempts: 0,
          outcome: this.settings.webhookMode === 'drop' ? 'dropped' : 'pending',
          lastStatus: null,
          lastError: null,
        };
        this.deliveries.push(delivery);
        if (delivery.outcome === 'dropped') continue;
        const task = this.deliver(delivery, body).finally(() => this.inFlightDeliveries.delete(task));
        this.inFlightDeliveries.add(task);
      }
    }
  }

  private async deliver(delivery: WebhookDelivery, body: Buffer): Promise<void> {
    const signature = await this.signer.sign(body, this.settings.webhookSignature === 'detached');
    const { webhookAttempts, webhookRetryDelayMs } = this.settings;
    for (let attempt = 1; attempt <= webhookAttempts; attempt++) {
      delivery.attempts = attempt;
      try {
        const response = await fetch(delivery.callbackUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [KWN_SIGNATURE_HEADER]: signature,
            [KWN_TRACE_ID_HEADER]: randomUUID(),
          },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        delivery.lastStatus = response.status;
        if (response.ok) {
          delivery.outcome = 'delivered';
          return;
        }
      } catch (error) {
        delivery.lastError = error instanceof Error ? error.message : String(error);
      }
      if (attempt < webhookAttempts)
        await new Promise((r) => setTimeout(r, webhookRetryDelayMs * 2 ** (attempt - 1)).unref());
    }
    delivery.outcome = 'failed';
  }
}

/** First index whose value is ≥ `value`. */
function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > `value`. */
function upperBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
