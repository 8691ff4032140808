import { randomBytes, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { deviceIdentifierKind } from '../../domain/device-identifiers.js';
import { formatJsonPath } from '../../upstreams/errors.js';
import {
  KDMS_API_PREFIX,
  KDMS_DEVICE_NOT_FOUND_MESSAGE,
  KDMS_ERROR_CODES,
  KDMS_PATHS,
  KDMS_SCOPES,
  KDMS_TOKEN_PATH,
  KNOX_TOKEN_DEFAULT_TTL_SECONDS,
  KNOX_TOKEN_MAX_TTL_SECONDS,
  KWN_CERTIFICATE_PATH,
  KWN_EVENTS,
  KWN_SIGNATURE_HEADER,
  KWN_SUBSCRIPTIONS_PATH,
  KWN_TRACE_ID_HEADER,
  KdmsDeviceOperationRequest,
  KdmsErrorResponse,
  KdmsGetDevicesRequest,
  KdmsGetDevicesResponse,
  KdmsOperationAccepted,
  KnoxOAuthError,
  KnoxTokenRequest,
  KnoxTokenResponse,
  KwnErrorResponse,
  KwnSubscription,
  KwnSubscriptionList,
  KwnSubscriptionRequest,
  kdmsErrorMessage,
} from '../../upstreams/kdms/kdms.wire.js';
import type {
  KdmsDevice,
  KdmsDeviceResult,
  KdmsErrorCode,
  KdmsScope,
  KdmsTargetService,
  KwnKdmsEvent,
  KwnKdmsEventNotification,
} from '../../upstreams/kdms/kdms.wire.js';
import { HttpEmulator, bearerToken, parseFormBody, parseJsonBody } from '../core/http-emulator.js';
import type { EmulatorReply, EmulatorRequest, RouteContract } from '../core/http-emulator.js';
import type { FaultSettings } from '../core/faults.js';
import { OAuthTokenStore } from '../core/oauth-token-store.js';
import { buildOpenApiDocument } from '../core/openapi.js';
import { createSeededRandom } from '../core/seeded-random.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { SeededFleet } from '../fleet/seeded-fleet.js';
import { DEV_CREDENTIALS } from '../dev-credentials.js';
import { kdmsOpenApiInfo, KDMS_SECURITY } from './kdms.openapi.js';
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

/** A subscription as the emulator keeps it and answers it: every field of the assumed contract. */
interface StoredSubscription {
  subscriptionId: string;
  callbackUrl: string;
  events: string[];
  description: string | null;
  status: 'ACTIVE';
  createdAt: string;
  updatedAt: string;
}
/** Why a bearer token may not be used for an operation. */
interface AccessRefusal {
  status: 401 | 403;
  message: string;
  /** The `WWW-Authenticate` challenge (RFC 6750 §3). */
  challenge: string;
  /** The scopes that would do (403 only). */
  scopes?: readonly string[];
}
/** One device's outcome as the emulator sends it (a success carries no error fields). */
type CallbackResult = z.input<typeof KdmsDeviceResult>;
type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';
type KwnErrorCode = 'VALIDATION_ERROR' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'FORBIDDEN';

function kdmsError(status: number, code: KdmsErrorCode, details?: string[], message?: string): EmulatorReply {
  const body: z.input<typeof KdmsErrorResponse> = {
    code,
    message: message ?? KDMS_ERROR_CODES[code],
    ...(details ? { details } : {}),
  };
  return { status, body };
}

function kwnError(status: number, code: KwnErrorCode, message: string): EmulatorReply {
  const body: z.input<typeof KwnErrorResponse> = { code, message };
  return { status, body };
}

function oauthError(status: number, error: OAuthErrorCode, description: string): EmulatorReply {
  const body: z.input<typeof KnoxOAuthError> = { error, error_description: description };
  return { status, body, headers: { 'cache-control': 'no-store' } };
}

/**
 * A JSON request body read through its request schema (an empty body reads as `empty`): the value, or
 * every problem as `<JSON path>: <what is wrong>`, which the 400 answers carry.
 */
function readJsonRequest<S extends z.ZodType>(
  request: EmulatorRequest,
  schema: S,
  empty?: unknown,
): { ok: true; value: z.output<S> } | { ok: false; problems: string[] } {
  const parsed = parseJsonBody(request);
  if (!parsed.ok) return { ok: false, problems: ['(the body): not JSON'] };
  const read = schema.safeParse(parsed.value ?? empty);
  if (read.success) return { ok: true, value: read.data };
  return {
    ok: false,
    problems: read.error.issues.map((issue) => `${formatJsonPath(issue.path)}: ${issue.message}`),
  };
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
  private readonly subscriptions = new Map<string, StoredSubscription>();
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

  /** Signs `body` as KWN signs a callback, so tests can deliver signed bodies the emulator never sends. */
  signCallback(body: Uint8Array): Promise<string> {
    return this.signer.sign(body);
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

  private errorBodyFor(status: number, message: string): z.input<typeof KdmsErrorResponse> {
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

  /** Why a request may not use an operation accepting the scopes `accepted`, or null when it may. */
  private refusal(request: EmulatorRequest, accepted: readonly string[]): AccessRefusal | null {
    const check = this.tokens.check(bearerToken(request));
    if (!check.ok) {
      const description = {
        missing: 'Bearer token required',
        invalid: 'Invalid access token',
        expired: 'Access token expired',
      }[check.reason];
      return {
        status: 401,
        message: description,
        challenge: `Bearer error="invalid_token", error_description="${description}"`,
      };
    }
    if (!check.grant.scopes.some((s) => accepted.includes(s))) {
      return {
        status: 403,
        message: `This operation needs one of the scopes: ${accepted.join(', ')}`,
        challenge: `Bearer error="insufficient_scope", scope="${accepted.join(' ')}"`,
        scopes: accepted,
      };
    }
    return null;
  }

  /** A KDMS operation's 401 or 403 in KDMS's error body, or null when the token may use it. */
  private authorize(request: EmulatorRequest, accepted: readonly string[]): EmulatorReply | null {
    const refused = this.refusal(request, accepted);
    if (!refused) return null;
    const code = refused.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN';
    const details = refused.scopes ? [...refused.scopes] : undefined;
    return {
      ...kdmsError(refused.status, code, details, refused.message),
      headers: { 'www-authenticate': refused.challenge },
    };
  }

  /** The same for KWN, in KWN's error body. */
  private kwnAuthorize(request: EmulatorRequest): EmulatorReply | null {
    const refused = this.refusal(request, SCOPES_FOR.subscriptions);
    if (!refused) return null;
    return {
      ...kwnError(refused.status, refused.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', refused.message),
      headers: { 'www-authenticate': refused.challenge },
    };
  }

  private addRoutes(): void {
    const http = this.http;
    const kdmsFailures = (scopes: readonly string[]): RouteContract['responses'] => ({
      400: {
        description: 'INVALID_PARAM; `details` names each bad field by its JSON path',
        schema: KdmsErrorResponse,
      },
      401: { description: 'Missing, invalid or expired access token', schema: KdmsErrorResponse },
      403: {
        description: `The token has none of the scopes ${scopes.join(', ')}`,
        schema: KdmsErrorResponse,
      },
    });
    const kwnFailures: RouteContract['responses'] = {
      401: { description: 'Missing, invalid or expired access token', schema: KwnErrorResponse },
      403: {
        description: `The token has none of the scopes ${SCOPES_FOR.subscriptions.join(', ')}`,
        schema: KwnErrorResponse,
      },
    };
    const validationError = {
      description: '"Validation error" (the message names each bad field by its JSON path)',
      schema: KwnErrorResponse,
    };
    const unknownSubscription = { description: 'Unknown subscription', schema: KwnErrorResponse };

    http.route(
      'POST',
      KDMS_TOKEN_PATH,
      {
        operationId: 'createAccessToken',
        summary: 'OAuth 2.0 client-credentials token (client id and secret in the form or as HTTP Basic)',
        body: { form: KnoxTokenRequest },
        responses: {
          200: { description: 'A Bearer token', schema: KnoxTokenResponse },
          400: {
            description: 'invalid_request, invalid_scope or unsupported_grant_type',
            schema: KnoxOAuthError,
          },
          401: { description: 'invalid_client', schema: KnoxOAuthError },
        },
        security: null,
        alternative: tokenSpellings,
      },
      (r) => this.issueToken(r),
    );
    for (const [operation, event, scopes] of [
      ['upload', KWN_EVENTS.upload, SCOPES_FOR.upload],
      ['delete', KWN_EVENTS.delete, SCOPES_FOR.delete],
    ] as const) {
      http.route(
        'POST',
        KDMS_API_PREFIX + KDMS_PATHS[operation],
        {
          operationId: `${operation}Devices`,
          summary: `${operation === 'upload' ? 'Upload' : 'Delete'} devices by IMEI or serial number (asynchronous; ${event} callback). Scopes: ${scopes.join(', ')}`,
          body: { json: KdmsDeviceOperationRequest },
          responses: {
            202: { description: 'Accepted; settles later', schema: KdmsOperationAccepted },
            ...kdmsFailures(scopes),
          },
          security: KDMS_SECURITY,
        },
        (r) => this.acceptOperation(r, event),
      );
    }
    http.route(
      'POST',
      KDMS_API_PREFIX + KDMS_PATHS.getDevices,
      {
        operationId: 'getDevices',
        summary: `Devices, filtered by upload id and identifiers, paged with searchAfter. Scopes: ${SCOPES_FOR.read.join(', ')}`,
        body: { json: KdmsGetDevicesRequest },
        responses: {
          200: { description: 'A page of devices', schema: KdmsGetDevicesResponse },
          ...kdmsFailures(SCOPES_FOR.read),
        },
        security: KDMS_SECURITY,
        alternative: devicePageSpellings,
      },
      (r) => this.getDevices(r),
    );
    http.route(
      'POST',
      KWN_SUBSCRIPTIONS_PATH,
      {
        operationId: 'createSubscription',
        summary: 'Subscribe a callback URL to events (one subscription per event)',
        body: { json: KwnSubscriptionRequest },
        responses: {
          201: { description: 'Created', schema: KwnSubscription },
          400: validationError,
          ...kwnFailures,
        },
        security: KDMS_SECURITY,
      },
      (r) => this.createSubscription(r),
    );
    http.route(
      'GET',
      KWN_SUBSCRIPTIONS_PATH,
      {
        operationId: 'listSubscriptions',
        responses: { 200: { description: 'The subscriptions', schema: KwnSubscriptionList }, ...kwnFailures },
        security: KDMS_SECURITY,
        alternative: subscriptionSpellings,
      },
      (r) => this.listSubscriptions(r),
    );
    const oneSubscription = `${KWN_SUBSCRIPTIONS_PATH}/{subscriptionId}`;
    http.route(
      'GET',
      oneSubscription,
      {
        operationId: 'getSubscription',
        responses: {
          200: { description: 'The subscription', schema: KwnSubscription },
          404: unknownSubscription,
          ...kwnFailures,
        },
        security: KDMS_SECURITY,
        alternative: subscriptionSpellings,
      },
      (r) => this.getSubscription(r),
    );
    http.route(
      'PUT',
      oneSubscription,
      {
        operationId: 'updateSubscription',
        body: { json: KwnSubscriptionRequest },
        responses: {
          200: { description: 'Updated', schema: KwnSubscription },
          400: validationError,
          404: unknownSubscription,
          ...kwnFailures,
        },
        security: KDMS_SECURITY,
        alternative: subscriptionSpellings,
      },
      (r) => this.updateSubscription(r),
    );
    http.route(
      'DELETE',
      oneSubscription,
      {
        operationId: 'deleteSubscription',
        responses: { 204: { description: 'Deleted' }, 404: unknownSubscription, ...kwnFailures },
        security: KDMS_SECURITY,
      },
      (r) => this.deleteSubscription(r),
    );
    http.route(
      'GET',
      KWN_CERTIFICATE_PATH,
      {
        operationId: 'downloadCertificate',
        summary: `The X.509 certificate (PEM) whose key signs ${KWN_SIGNATURE_HEADER}`,
        responses: { 200: { description: 'PEM certificate', contentType: 'application/x-pem-file' } },
        security: null,
      },
      () => ({ status: 200, text: this.signer.certificatePem, contentType: 'application/x-pem-file' }),
    );
    http.controlRoute('GET', '/openapi.json', () => ({
      status: 200,
      body: buildOpenApiDocument(http, kdmsOpenApiInfo),
    }));
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

  /**
   * Checked field by field rather than through KnoxTokenRequest: RFC 6749 answers each problem with its
   * own error code, and the client may authenticate with HTTP Basic instead of the form fields.
   */
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
    const granted: readonly string[] = client.scopes;
    const unknown = requested.filter((s) => !granted.includes(s));
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
    const body: z.input<typeof KnoxTokenResponse> = {
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
    const read = readJsonRequest(request, KdmsDeviceOperationRequest);
    if (!read.ok) return kdmsError(400, 'INVALID_PARAM', read.problems);
    const { deviceIds, targetServices } = read.value;
    const uploadId = randomUUID();
    const op: PendingOperation = {
      uploadId,
      event,
      deviceIds,
      targetServices,
      timer: setTimeout(() => {
        if (this.pending.delete(uploadId)) this.settle(op);
      }, this.settings.asyncDelayMs),
    };
    op.timer.unref();
    this.pending.set(uploadId, op);
    const body: z.input<typeof KdmsOperationAccepted> = {
      uploadId,
      status: 'IN_PROGRESS',
      deviceCount: op.deviceIds.length,
    };
    return { status: 202, body };
  }

  private settle(op: PendingOperation): void {
    this.pending.delete(op.uploadId);
    const results = op.event === KWN_EVENTS.upload ? this.applyUpload(op) : this.applyDelete(op);
    const successCount = results.filter((r) => r.status === 'SUCCESS').length;
    const eventId = randomUUID();
    const notification: z.input<typeof KwnKdmsEventNotification> = {
      eventId,
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
    this.publish(notification, eventId, op);
  }

  private applyUpload(op: PendingOperation): CallbackResult[] {
    const now = new Date().toISOString();
    return op.deviceIds.map((id): CallbackResult => {
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

  private applyDelete(op: PendingOperation): CallbackResult[] {
    return op.deviceIds.map((id): CallbackResult => {
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
    // An empty body asks for the first page of every device.
    const read = readJsonRequest(request, KdmsGetDevicesRequest, {});
    if (!read.ok) return kdmsError(400, 'INVALID_PARAM', read.problems);
    const { uploadId, deviceIds, searchAfter, pageSize } = read.value;

    let ids: string[];
    if (deviceIds) {
      const found = new Set<string>();
      for (const id of deviceIds) {
        const deviceId = this.byIdentifier.get(id);
        if (deviceId) found.add(deviceId);
      }
      ids = [...found].sort();
    } else {
      ids = this.sortedIds;
    }
    if (uploadId !== undefined) ids = ids.filter((id) => this.devices.get(id)?.uploadId === uploadId);
    const from = searchAfter !== undefined ? upperBound(ids, searchAfter) : 0;
    const page = ids.slice(from, from + pageSize);
    const more = from + page.length < ids.length;
    // The canonical assumed shape: every field present, null where KDMS has nothing to say.
    const body: z.input<typeof KdmsGetDevicesResponse> = {
      devices: page.map((id) => this.devices.get(id)!),
      totalCount: ids.length,
      nextSearchAfter: more && page.length ? page[page.length - 1]! : null,
    };
    return { status: 200, body };
  }

  // ---- Knox Webhook Notification ---------------------------------------------------------------------

  /** A subscription body read through KwnSubscriptionRequest, then checked against what KWN holds. */
  private readSubscriptionBody(
    request: EmulatorRequest,
    excludeId: string | null,
  ): { callbackUrl: string; events: string[]; description: string | null } | EmulatorReply {
    const read = readJsonRequest(request, KwnSubscriptionRequest);
    if (!read.ok) return kwnError(400, 'VALIDATION_ERROR', `Validation error: ${read.problems.join('; ')}`);
    const { callbackUrl, description } = read.value;
    const events = [...new Set(read.value.events)];
    // The schema takes any event name (KWN serves KAI, Knox Guard, … too); this emulator publishes KDMS's only.
    const known: readonly string[] = Object.values(KWN_EVENTS);
    const unknown = read.value.events.findIndex((e) => !known.includes(e));
    if (unknown >= 0) {
      return kwnError(
        400,
        'VALIDATION_ERROR',
        `Validation error: events[${unknown}]: not an event this service publishes (${known.join(', ')})`,
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
    return { callbackUrl: new URL(callbackUrl).toString(), events, description: description ?? null };
  }

  private createSubscription(request: EmulatorRequest): EmulatorReply {
    const denied = this.kwnAuthorize(request);
    if (denied) return denied;
    const input = this.readSubscriptionBody(request, null);
    if ('status' in input) return input;
    const now = new Date().toISOString();
    const sub: StoredSubscription = {
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
    const body: z.input<typeof KwnSubscriptionList> = { subscriptions: [...this.subscriptions.values()] };
    return this.kwnAuthorize(request) ?? { status: 200, body };
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
    const updated: StoredSubscription = { ...sub, ...input, updatedAt: new Date().toISOString() };
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

  private publish(
    notification: z.input<typeof KwnKdmsEventNotification>,
    eventId: string,
    op: PendingOperation,
  ): void {
    const body = Buffer.from(JSON.stringify(notification), 'utf8');
    for (const sub of this.subscriptions.values()) {
      if (!sub.events.includes(op.event)) continue;
      const copies = this.settings.webhookMode === 'duplicate' ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const delivery: WebhookDelivery = {
          eventId,
          eventType: op.event,
          uploadId: op.uploadId,
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

// ---- alternative spellings (the `altSpellings` shape variant) --------------------------------------
// Each is something a real deployment may plausibly send where our assumed contract says otherwise, and
// the schema reads each as the canonical answer.

function tokenSpellings(body: unknown): unknown {
  // Knox Manage, on Samsung's other OAuth server, documents `token_type: "bearer"` in lower case.
  if (isRecord(body)) body.token_type = 'bearer';
  return body;
}

/** A time as Knox cloud services and Java backends send one: epoch ms (number or string) or a `{time}`. */
function timeSpelling(iso: string, random: SeededRandom): unknown {
  const ms = Date.parse(iso);
  const pick = random.next();
  return pick < 1 / 3 ? ms : pick < 2 / 3 ? String(ms) : { time: ms };
}

function devicePageSpellings(body: unknown, random: SeededRandom): unknown {
  if (!isRecord(body) || !Array.isArray(body.devices)) return body;
  for (const device of body.devices) {
    if (!isRecord(device)) continue;
    // Knox Configure and KME answer times as epoch milliseconds; Java services serialise a Date as {time}.
    if (typeof device.uploadedAt === 'string') device.uploadedAt = timeSpelling(device.uploadedAt, random);
    // KAI's documented samples write IMEIs as bare JSON numbers (only where no leading zero would be lost).
    for (const key of ['imei', 'secondaryImei'])
      if (typeof device[key] === 'string' && /^[1-9]\d{14}$/.test(device[key]))
        device[key] = Number(device[key]);
    // The tutorial says "set targetServices to KAI": one service may come as a string, not a list.
    if (Array.isArray(device.targetServices) && device.targetServices.length === 1)
      device.targetServices = device.targetServices[0];
  }
  // No cursor at all (KDMS only documents the searchAfter input): the client then pages after the last device.
  delete body.nextSearchAfter;
  return body;
}

function subscriptionSpellings(body: unknown, random: SeededRandom): unknown {
  const subscriptions = isRecord(body) && Array.isArray(body.subscriptions) ? body.subscriptions : [body];
  for (const sub of subscriptions) {
    if (!isRecord(sub)) continue;
    // Epoch-millisecond times, as in the device answers.
    for (const key of ['createdAt', 'updatedAt'])
      if (typeof sub[key] === 'string') sub[key] = timeSpelling(sub[key], random);
  }
  return body;
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
