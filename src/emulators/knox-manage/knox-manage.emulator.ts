import type { z } from 'zod';
import type { OAuthErrorResponse } from '../../upstreams/auth/oauth.wire.js';
import { formatJsonPath } from '../../upstreams/errors.js';
import {
  KNOX_MANAGE_API_PREFIX,
  KNOX_MANAGE_MAX_LIMIT,
  KNOX_MANAGE_PASSWORD_RULES,
  KNOX_MANAGE_PATHS,
  KNOX_MANAGE_REQUESTS_PER_MINUTE,
  KNOX_MANAGE_RESULT_CODES,
  KNOX_MANAGE_SUCCESS,
  KNOX_MANAGE_SUCCESS_MESSAGE,
  KNOX_MANAGE_TOKEN_PATH,
  KnoxManageAuthenticateRequest,
  KnoxManageAuthenticateResponse,
  KnoxManageDeviceDetailResponse,
  KnoxManageDeviceListRequest,
  KnoxManageDeviceListResponse,
  KnoxManageDevicesByUserResponse,
  KnoxManageImeiRequest,
  KnoxManageSerialNumberRequest,
  KnoxManageTokenRequest,
  KnoxManageTokenResponse,
  KnoxManageUnauthorized,
  KnoxManageUserIdQuery,
  KnoxManageUserIdRequest,
  KnoxManageUserResponse,
  KnoxManageUsersQuery,
  KnoxManageUsersResponse,
} from '../../upstreams/knox-manage/knox-manage.wire.js';
import type {
  KnoxManageDeviceDetail,
  KnoxManageDeviceRow,
  KnoxManageResultCode,
  KnoxManageUser,
} from '../../upstreams/knox-manage/knox-manage.wire.js';
import { HttpEmulator, bearerToken, parseFormBody } from '../core/http-emulator.js';
import type { EmulatorReply, EmulatorRequest, RouteContract } from '../core/http-emulator.js';
import type { FaultSettings } from '../core/faults.js';
import { OAuthTokenStore } from '../core/oauth-token-store.js';
import { buildOpenApiDocument } from '../core/openapi.js';
import { createSeededRandom } from '../core/seeded-random.js';
import type { SeededRandom } from '../core/seeded-random.js';
import { DEV_CREDENTIALS } from '../dev-credentials.js';
import { SEEDED_USER_PASSWORD } from '../fleet/seeded-fleet.js';
import type { SeededFleet } from '../fleet/seeded-fleet.js';
import { knoxManageOpenApiInfo } from './knox-manage.openapi.js';

/**
 * Knox Manage Open API as published (../shared/reference/): OAuth client-credentials tokens, form-encoded
 * device reads, GET user reads, the `{resultCode, resultMessage, resultValue}` envelope with the published
 * result codes, and the documented per-minute rate limit on `/emm/oapi/*` answered with HTTP 429. Requests
 * are validated with the same wire schemas the client reads answers with; answers carry only fields the
 * published document defines (a contract test checks them against it with ajv).
 */

export interface KnoxManageEmulatorOptions {
  fleet: SeededFleet;
  faults?: Partial<FaultSettings>;
  /** Token lifetime in seconds (default 3,600). */
  tokenTtlSeconds?: number;
  /** `/emm/oapi/*` requests allowed per client per minute (documented: 1,800). */
  requestsPerMinute?: number;
  clients?: Array<{ clientId: string; clientSecret: string }>;
}

interface EmulatedDevice {
  row: KnoxManageDeviceRow;
  detail: KnoxManageDeviceDetail;
  ownerUserId: string;
}

function envelope(value: unknown): EmulatorReply {
  return {
    status: 200,
    body: { resultCode: KNOX_MANAGE_SUCCESS, resultMessage: KNOX_MANAGE_SUCCESS_MESSAGE, resultValue: value },
  };
}

/** Business and validation errors travel as HTTP 200 with a non-zero resultCode and no resultValue. */
function failure(code: KnoxManageResultCode, detail?: string | number): EmulatorReply {
  const message: string = KNOX_MANAGE_RESULT_CODES[code].replace('%d', String(detail ?? ''));
  return { status: 200, body: { resultCode: code, resultMessage: message } };
}

function oauthError(status: number, error: string, description: string): EmulatorReply {
  const body: OAuthErrorResponse = { error, error_description: description };
  return { status, body, headers: status === 401 ? { 'www-authenticate': `Bearer error="${error}"` } : {} };
}

/**
 * Form or query fields through a request schema. A missing required field is -102 (Null or Empty string),
 * an over-long one -109, anything else Spring's 400 (the published responses list "400 Bad Request").
 */
function readParams<S extends z.ZodType>(
  schema: S,
  fields: URLSearchParams,
): { ok: true; value: z.output<S> } | { ok: false; reply: EmulatorReply } {
  const raw: Record<string, string> = {};
  for (const [key, value] of fields) if (value !== '') raw[key] = value;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'invalid_type') return { ok: false, reply: failure('-102') };
  if (issue.code === 'too_big') return { ok: false, reply: failure('-109', Number(issue.maximum) + 1) };
  return {
    ok: false,
    reply: {
      status: 400,
      body: { error: 'Bad Request', message: `${formatJsonPath(issue.path)}: ${issue.message}` },
    },
  };
}

const ISO = (ms: number): string => new Date(ms).toISOString();

export class KnoxManageEmulator {
  readonly http: HttpEmulator;
  readonly tokens = new OAuthTokenStore('uuid');
  private readonly devices: EmulatedDevice[] = [];
  private readonly byImei = new Map<string, EmulatedDevice>();
  private readonly bySerial = new Map<string, EmulatedDevice>();
  private readonly byUser = new Map<string, EmulatedDevice[]>();
  private readonly users: KnoxManageUser[] = [];
  private readonly usersById = new Map<string, KnoxManageUser>();
  private readonly clients = new Map<string, string>();
  private readonly tokenTtlSeconds: number;
  private requestsPerMinute: number;
  /** Fixed one-minute windows per OAuth client: start time and requests counted in it. */
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(options: KnoxManageEmulatorOptions) {
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
    this.requestsPerMinute = options.requestsPerMinute ?? KNOX_MANAGE_REQUESTS_PER_MINUTE;
    const dev = DEV_CREDENTIALS.knoxManage;
    this.clients.set(dev.clientId, dev.clientSecret);
    for (const c of options.clients ?? []) this.clients.set(c.clientId, c.clientSecret);
    this.loadFleet(options.fleet);
    this.http = new HttpEmulator({
      name: 'knox-manage',
      random: createSeededRandom(`${options.fleet.seed}/knox-manage-faults`),
      faults: options.faults,
      errorBody: (status, message) => ({
        error: status === 429 ? 'too_many_requests' : 'server_error',
        error_description: message,
      }),
    });
    this.http.guard((r) => this.authorizeAndLimit(r));
    this.addRoutes();
  }

  get rateLimit(): number {
    return this.requestsPerMinute;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private loadFleet(fleet: SeededFleet): void {
    const created = Date.parse('2024-01-15T09:00:00Z');
    for (const [i, u] of fleet.users.entries()) {
      const user: KnoxManageUser = {
        userId: u.userId,
        userName: u.userName,
        email: u.email,
        orgCode: u.orgCode,
        orgName: u.orgName,
        enabled: u.status === 'A' ? '1' : '0',
        userType: '0',
        created: ISO(created + i * 3_600_000),
        createdDate: ISO(created + i * 3_600_000),
      };
      this.users.push(user);
      this.usersById.set(u.userId, user);
    }
    for (const d of fleet.devices) {
      const km = d.knoxManage;
      if (!km) continue;
      const owner = fleet.users.find((u) => u.userId === km.ownerUserId)!;
      const row: KnoxManageDeviceRow = {
        deviceId: km.deviceId,
        mobileId: km.mobileId,
        deviceStatus: km.status,
        platform: km.platform,
        imei: d.imei ?? '',
        serialNumber: d.serialNumber,
        phone: d.imei ? km.phone : '',
        userId: owner.userId,
        userName: owner.userName,
        email: owner.email,
        orgCode: owner.orgCode,
        orgName: owner.orgName,
        deviceModel: d.model,
        deviceModelKind: d.modelName,
        ownerShip: 'C',
        deviceTags: km.tags.map((tagValue) => ({ tagValue })),
        updated: ISO(km.lastConnectedAt),
      };
      const detail: KnoxManageDeviceDetail = {
        deviceId: km.deviceId,
        mobileId: km.mobileId,
        userId: owner.userId,
        deviceStatus: km.status,
        platform: km.platform,
        phone: row.phone,
        deviceModel: d.model,
        deviceModelKind: d.modelName,
        imei: row.imei,
        serialNumber: d.serialNumber,
        lastConnectionDate: ISO(km.lastConnectedAt),
        isDeviceLock: km.status.startsWith('B') ? 'Y' : 'N',
        ownerShip: 'C',
        orgCode: owner.orgCode,
        orgName: owner.orgName,
        updated: ISO(km.lastConnectedAt),
        created: ISO(created),
      };
      const device: EmulatedDevice = { row, detail, ownerUserId: owner.userId };
      this.devices.push(device);
      if (d.imei) this.byImei.set(d.imei, device);
      if (d.secondaryImei) this.byImei.set(d.secondaryImei, device);
      this.bySerial.set(d.serialNumber, device);
      const list = this.byUser.get(owner.userId) ?? [];
      list.push(device);
      this.byUser.set(owner.userId, list);
    }
    this.devices.sort((a, b) => km(a).localeCompare(km(b)));
  }

  private addRoutes(): void {
    const api = (path: string): string => KNOX_MANAGE_API_PREFIX + path;
    const http = this.http;
    const answers = (schema: z.ZodType, description: string): RouteContract['responses'] => ({
      200: { description, schema },
      401: { description: 'Missing, invalid or expired token', schema: KnoxManageUnauthorized },
      429: {
        description: 'More than 1,800 requests a minute; see Retry-After',
        schema: KnoxManageUnauthorized,
      },
    });
    // Some public callers send the token request as a GET with a query string; it works for them.
    for (const method of ['POST', 'GET']) {
      http.route(
        method,
        KNOX_MANAGE_TOKEN_PATH,
        {
          operationId: method === 'POST' ? 'generateToken' : 'generateTokenGet',
          summary: 'Generate an OAuth token (client credentials)',
          ...(method === 'POST'
            ? { body: { form: KnoxManageTokenRequest } }
            : { query: KnoxManageTokenRequest }),
          responses: {
            200: { description: 'A bearer token', schema: KnoxManageTokenResponse },
            400: { description: 'Unsupported grant type', schema: KnoxManageUnauthorized },
            401: { description: 'Bad client credentials', schema: KnoxManageUnauthorized },
          },
          security: null,
        },
        (r) => this.issueToken(r),
      );
    }
    http.route(
      'POST',
      api(KNOX_MANAGE_PATHS.selectDeviceList),
      {
        operationId: 'selectDeviceList',
        summary: 'Get Device List (start is a row offset)',
        body: { form: KnoxManageDeviceListRequest },
        responses: answers(KnoxManageDeviceListResponse, 'A page of devices and the total (a string)'),
        security: 'bearer',
        alternative: (body, random) => camelCaseDeviceList(body, random),
      },
      (r) => this.selectDeviceList(r),
    );
    for (const [path, key, schema, operationId] of [
      [KNOX_MANAGE_PATHS.selectDeviceInfoByImei, 'imei', KnoxManageImeiRequest, 'selectDeviceInfoByImei'],
      [
        KNOX_MANAGE_PATHS.selectDeviceInfoBySerialNumber,
        'serialNumber',
        KnoxManageSerialNumberRequest,
        'selectDeviceInfoBySerialNumber',
      ],
    ] as const) {
      http.route(
        'POST',
        api(path),
        {
          operationId,
          body: { form: schema },
          responses: answers(KnoxManageDeviceDetailResponse, 'The device, or -205 Data Not found'),
          security: 'bearer',
          alternative: (body, random) => javaDates(body, random),
        },
        (r) => this.selectDeviceByKey(r, key, schema),
      );
    }
    http.route(
      'POST',
      api(KNOX_MANAGE_PATHS.selectDevicesByUser),
      {
        operationId: 'selectDevicesByUser',
        summary: 'Up to 1,000 devices of a user (an array, as callers of the real service read it)',
        body: { form: KnoxManageUserIdRequest },
        responses: answers(KnoxManageDevicesByUserResponse, 'The user’s devices'),
        security: 'bearer',
        // The spec's own shape: one DeviceList object (kept to a user's first device).
        alternative: (body) => firstDeviceOnly(body),
      },
      (r) => this.selectDevicesByUser(r),
    );
    http.route(
      'GET',
      api(KNOX_MANAGE_PATHS.selectUsers),
      {
        operationId: 'selectUsers',
        summary: 'Users matching the filters (no paging)',
        query: KnoxManageUsersQuery,
        responses: answers(KnoxManageUsersResponse, 'users.user[] and an integer total'),
        security: 'bearer',
      },
      (r) => this.selectUsers(r),
    );
    http.route(
      'GET',
      api(KNOX_MANAGE_PATHS.selectUserWithID),
      {
        operationId: 'selectUserWithID',
        query: KnoxManageUserIdQuery,
        responses: answers(KnoxManageUserResponse, 'resultValue.user, or -205 Data Not found'),
        security: 'bearer',
      },
      (r) => this.selectUserWithId(r),
    );
    http.route(
      'POST',
      api(KNOX_MANAGE_PATHS.authenticate),
      {
        operationId: 'authenticate',
        body: { form: KnoxManageAuthenticateRequest },
        responses: answers(KnoxManageAuthenticateResponse, 'resultValue.userId, or -223/-224'),
        security: 'bearer',
      },
      (r) => this.authenticate(r),
    );
    http.controlRoute('GET', '/openapi.json', () => ({
      status: 200,
      body: buildOpenApiDocument(http, knoxManageOpenApiInfo),
    }));
    http.controlRoute('POST', '/_emulator/tokens/expire', () => ({
      status: 200,
      body: { expired: this.tokens.expireAll() },
    }));
    http.controlRoute('PUT', '/_emulator/rate-limit', (r) => {
      const value = Number(JSON.parse(r.body.toString('utf8') || '{}').requestsPerMinute);
      if (!Number.isInteger(value) || value < 1)
        return { status: 400, body: { problems: ['requestsPerMinute must be a whole number ≥ 1'] } };
      this.requestsPerMinute = value;
      this.windows.clear();
      return { status: 200, body: { requestsPerMinute: value } };
    });
  }

  /** Every `/emm/oapi/*` call needs a live bearer token and stays within the client's per-minute quota. */
  private authorizeAndLimit(request: EmulatorRequest): EmulatorReply | undefined {
    if (!request.path.startsWith(`${KNOX_MANAGE_API_PREFIX}/`)) return undefined;
    const check = this.tokens.check(bearerToken(request));
    if (!check.ok) {
      const description = {
        missing: 'Full authentication is required to access this resource',
        invalid: 'Invalid access token',
        expired: 'Access token expired',
      }[check.reason];
      return oauthError(401, check.reason === 'missing' ? 'invalid_request' : 'invalid_token', description);
    }
    const now = Date.now();
    const clientId = check.grant.clientId;
    let window = this.windows.get(clientId);
    if (!window || now - window.startedAt >= 60_000) {
      window = { startedAt: now, count: 0 };
      this.windows.set(clientId, window);
    }
    window.count += 1;
    if (window.count > this.requestsPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((window.startedAt + 60_000 - now) / 1000));
      return {
        status: 429,
        headers: { 'retry-after': String(retryAfter) },
        body: {
          error: 'too_many_requests',
          error_description: `Rate limit of ${this.requestsPerMinute} requests per minute exceeded; retry after ${retryAfter} s`,
        },
      };
    }
    return undefined;
  }

  private issueToken(request: EmulatorRequest): EmulatorReply {
    const form = parseFormBody(request);
    if (form.get('grant_type') !== 'client_credentials')
      return oauthError(400, 'unsupported_grant_type', 'Unsupported grant type');
    const clientId = form.get('client_id') ?? '';
    const secret = this.clients.get(clientId);
    if (secret === undefined || secret !== form.get('client_secret'))
      return oauthError(401, 'invalid_client', 'Bad client credentials');
    const { token } = this.tokens.issue(clientId, ['read', 'write'], this.tokenTtlSeconds);
    const body: z.input<typeof KnoxManageTokenResponse> = {
      access_token: token,
      token_type: 'bearer',
      expires_in: this.tokenTtlSeconds,
      scope: 'read write',
    };
    return { status: 200, body, headers: { 'cache-control': 'no-store' } };
  }

  private selectDeviceList(request: EmulatorRequest): EmulatorReply {
    const params = readParams(KnoxManageDeviceListRequest, parseFormBody(request));
    if (!params.ok) return params.reply;
    const { userId, deviceStatus } = params.value;
    const start = Number(params.value.start ?? 0);
    const limit = Number(params.value.limit ?? KNOX_MANAGE_MAX_LIMIT);
    let devices = userId ? (this.byUser.get(userId) ?? []) : this.devices;
    if (deviceStatus) devices = devices.filter((d) => d.row.deviceStatus === deviceStatus);
    return envelope({
      total: String(devices.length),
      devicelist: devices.slice(start, start + limit).map((d) => d.row),
    });
  }

  private selectDeviceByKey(
    request: EmulatorRequest,
    key: 'imei' | 'serialNumber',
    schema: typeof KnoxManageImeiRequest | typeof KnoxManageSerialNumberRequest,
  ): EmulatorReply {
    const params = readParams(schema, parseFormBody(request));
    if (!params.ok) return params.reply;
    const value = (params.value as Record<typeof key, string>)[key];
    const device = (key === 'imei' ? this.byImei : this.bySerial).get(value);
    return device ? envelope(device.detail) : failure('-205');
  }

  private selectDevicesByUser(request: EmulatorRequest): EmulatorReply {
    const params = readParams(KnoxManageUserIdRequest, parseFormBody(request));
    if (!params.ok) return params.reply;
    if (!this.usersById.has(params.value.userId)) return failure('-205');
    return envelope(
      (this.byUser.get(params.value.userId) ?? []).slice(0, KNOX_MANAGE_MAX_LIMIT).map((d) => d.row),
    );
  }

  private selectUsers(request: EmulatorRequest): EmulatorReply {
    // Repeated `extraCondition.userIds` and comma-separated values both make the IN list.
    const ids = request.query
      .getAll('extraCondition.userIds')
      .flatMap((v) => v.split(','))
      .filter(Boolean);
    const single = new URLSearchParams(request.query);
    single.delete('extraCondition.userIds');
    const params = readParams(KnoxManageUsersQuery, single);
    if (!params.ok) return params.reply;
    const { userId, userName } = params.value;
    const idLike = params.value['extraCondition.userIdLike'];
    const wanted = ids.length > 0 ? new Set(ids) : null;
    const users = this.users.filter(
      (u) =>
        (!userId || u.userId === userId) &&
        (!wanted || wanted.has(String(u.userId))) &&
        (!idLike || String(u.userId).includes(idLike)) &&
        (!userName || String(u.userName).includes(userName)),
    );
    return envelope({ users: { user: users, total: users.length } });
  }

  private selectUserWithId(request: EmulatorRequest): EmulatorReply {
    const params = readParams(KnoxManageUserIdQuery, request.query);
    if (!params.ok) return params.reply;
    const user = this.usersById.get(params.value.userId);
    return user ? envelope({ user }) : failure('-205');
  }

  private authenticate(request: EmulatorRequest): EmulatorReply {
    const params = readParams(KnoxManageAuthenticateRequest, parseFormBody(request));
    if (!params.ok) return params.reply;
    const { userId, userPassword } = params.value;
    const user = this.usersById.get(userId);
    if (!user) return failure('-223');
    const rules = KNOX_MANAGE_PASSWORD_RULES;
    const wellFormed =
      userPassword.length >= rules.minLength &&
      userPassword.length <= rules.maxLength &&
      rules.digit.test(userPassword) &&
      rules.letter.test(userPassword) &&
      rules.special.test(userPassword);
    // A password that breaks the documented rules cannot be the user's: the same refusal as a wrong one.
    if (!wellFormed || user.enabled !== '1' || userPassword !== SEEDED_USER_PASSWORD) return failure('-224');
    return envelope({ userId: user.userId });
  }
}

function km(device: EmulatedDevice): string {
  return String(device.row.deviceId);
}

// ---- alternative spellings seen in public callers of the real service (the altSpellings variant) ----

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `deviceList` (camel case) and `{time}` dates on list rows, as public callers read them. */
function camelCaseDeviceList(body: unknown, random: SeededRandom): unknown {
  const value = isObject(body) ? body.resultValue : undefined;
  if (!isObject(value) || !Array.isArray(value.devicelist)) return body;
  value.deviceList = value.devicelist.map((row: unknown) =>
    isObject(row) && typeof row.updated === 'string'
      ? {
          ...row,
          lastConnectionDate: { time: Date.parse(row.updated) },
          updated: dateVariant(row.updated, random),
        }
      : row,
  );
  delete value.devicelist;
  return body;
}

/** Detail dates as a Java `Date` `{time}`, epoch ms, or epoch ms in a string. */
function javaDates(body: unknown, random: SeededRandom): unknown {
  const value = isObject(body) ? body.resultValue : undefined;
  if (!isObject(value)) return body;
  for (const key of ['lastConnectionDate', 'updated', 'created']) {
    if (typeof value[key] === 'string') value[key] = dateVariant(value[key], random);
  }
  return body;
}

function dateVariant(iso: string, random: SeededRandom): unknown {
  const ms = Date.parse(iso);
  const pick = random.next();
  return pick < 1 / 3 ? { time: ms } : pick < 2 / 3 ? ms : String(ms);
}

function firstDeviceOnly(body: unknown): unknown {
  if (isObject(body) && Array.isArray(body.resultValue)) body.resultValue = body.resultValue[0] ?? null;
  return body;
}
