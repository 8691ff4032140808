import {
  KNOX_MANAGE_API_PREFIX,
  KNOX_MANAGE_DEVICE_STATUSES,
  KNOX_MANAGE_MAX_LIMIT,
  KNOX_MANAGE_PASSWORD_RULES,
  KNOX_MANAGE_PATHS,
  KNOX_MANAGE_REQUESTS_PER_MINUTE,
  KNOX_MANAGE_SUCCESS,
  KNOX_MANAGE_SUCCESS_MESSAGE,
  KNOX_MANAGE_TOKEN_PATH,
  KNOX_MANAGE_USER_ID_PATTERN,
  knoxManageMessage,
} from '../../upstreams/knox-manage/knox-manage.wire.js';
import type {
  KnoxManageAuthenticationValue,
  KnoxManageDevice,
  KnoxManageDeviceInfo,
  KnoxManageDeviceListValue,
  KnoxManageDeviceStatus,
  KnoxManageEnvelope,
  KnoxManageOAuthError,
  KnoxManageResultCode,
  KnoxManageTokenResponse,
  KnoxManageUser,
  KnoxManageUserListValue,
} from '../../upstreams/knox-manage/knox-manage.wire.js';
import { HttpEmulator, bearerToken, parseFormBody } from '../core/http-emulator.js';
import type { EmulatorReply, EmulatorRequest } from '../core/http-emulator.js';
import type { FaultSettings } from '../core/faults.js';
import { OAuthTokenStore } from '../core/oauth-token-store.js';
import { createSeededRandom } from '../core/seeded-random.js';
import { DEV_CREDENTIALS } from '../dev-credentials.js';
import { SEEDED_USER_PASSWORD } from '../fleet/seeded-fleet.js';
import type { SeededFleet } from '../fleet/seeded-fleet.js';
import { knoxManageOpenApi } from './knox-manage.openapi.js';

/**
 * Knox Manage Open API: OAuth client-credentials tokens, form-encoded POSTs, the
 * `{resultCode, resultMessage, resultValue}` envelope, documented validation codes, and the documented
 * per-minute rate limit on `/emm/oapi/*` answered with HTTP 429.
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

type Outcome<T> = { ok: true; value: T } | { ok: false; reply: EmulatorReply };

function envelope<T>(value: T): EmulatorReply {
  const body: KnoxManageEnvelope<T> = {
    resultCode: KNOX_MANAGE_SUCCESS,
    resultMessage: KNOX_MANAGE_SUCCESS_MESSAGE,
    resultValue: value,
  };
  return { status: 200, body };
}

/** Business and validation errors travel as HTTP 200 with a non-zero resultCode. */
function failure(code: KnoxManageResultCode, ...args: Array<string | number>): EmulatorReply {
  const body: KnoxManageEnvelope<null> = {
    resultCode: code,
    resultMessage: knoxManageMessage(code, ...args),
    resultValue: null,
  };
  return { status: 200, body };
}

function oauthError(
  status: number,
  error: KnoxManageOAuthError['error'],
  description: string,
): EmulatorReply {
  const body: KnoxManageOAuthError = { error, error_description: description };
  return { status, body, headers: status === 401 ? { 'www-authenticate': `Bearer error="${error}"` } : {} };
}

/** Reads an optional whole number field with the documented validation codes. */
function intField(
  form: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): Outcome<number> {
  const raw = form.get(name);
  if (raw === null || raw === '') return { ok: true, value: fallback };
  if (!/^-?\d+$/.test(raw)) return { ok: false, reply: failure('-104') };
  const n = Number(raw);
  if (n < min || n > max) {
    return {
      ok: false,
      reply: max === Number.MAX_SAFE_INTEGER ? failure('-105', min - 1) : failure('-107', min, max),
    };
  }
  return { ok: true, value: n };
}

function userIdField(form: URLSearchParams, required: boolean): Outcome<string | null> {
  const raw = form.get('userId');
  if (raw === null || raw === '')
    return required ? { ok: false, reply: failure('-102') } : { ok: true, value: null };
  if (raw.length > 50) return { ok: false, reply: failure('-109', 51) };
  if (!KNOX_MANAGE_USER_ID_PATTERN.test(raw))
    return { ok: false, reply: failure('-112', '[A-Za-z0-9_:.\\-+]') };
  return { ok: true, value: raw };
}

export class KnoxManageEmulator {
  readonly http: HttpEmulator;
  readonly tokens = new OAuthTokenStore('uuid');
  private readonly devices: KnoxManageDeviceInfo[] = [];
  private readonly byImei = new Map<string, KnoxManageDeviceInfo>();
  private readonly bySerial = new Map<string, KnoxManageDeviceInfo>();
  private readonly byUser = new Map<string, KnoxManageDeviceInfo[]>();
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
    for (const u of fleet.users) {
      const user: KnoxManageUser = {
        userId: u.userId,
        userName: u.userName,
        email: u.email,
        userStatus: u.status,
        orgName: u.orgName,
        orgCode: u.orgCode,
      };
      this.users.push(user);
      this.usersById.set(user.userId, user);
    }
    for (const d of fleet.devices) {
      const km = d.knoxManage;
      if (!km) continue;
      const owner = this.usersById.get(km.ownerUserId)!;
      const device: KnoxManageDeviceInfo = {
        deviceId: km.deviceId,
        mobileId: km.mobileId,
        imei: d.imei ?? '',
        secondaryImei: d.secondaryImei ?? '',
        serialNumber: d.serialNumber,
        userId: owner.userId,
        userName: owner.userName,
        email: owner.email,
        phone: d.imei ? km.phone : '',
        deviceStatus: km.status,
        deviceModel: d.model,
        deviceModelKind: d.modelName,
        platform: km.platform,
        lastConnectionDate: { time: km.lastConnectedAt },
        stdFormatLastConnectionDate: new Date(km.lastConnectedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        deviceTags: km.tags.map((tagValue) => ({ tagValue })),
        isDeviceLock: km.status.startsWith('B') ? 'Y' : '',
        orgName: owner.orgName,
        orgCode: owner.orgCode,
        iccid: d.imei ? `8944${d.imei.slice(2, 15)}${d.imei.slice(-3)}` : '',
        battery: String(20 + (Number(d.serialNumber.replace(/\D/g, '').slice(0, 2) || '50') % 80)),
        wifiIpAddress: `10.${km.lastConnectedAt % 250}.${(km.lastConnectedAt >> 8) % 250}.${(km.lastConnectedAt >> 16) % 250}`,
        isRoaming: 'NotRoaming',
        isContainMalware: 'N',
        isRooting: 'N',
        simStatus: d.imei ? 'Ready' : 'Absent',
      };
      this.devices.push(device);
      if (device.imei) this.byImei.set(device.imei, device);
      if (device.secondaryImei) this.byImei.set(device.secondaryImei, device);
      this.bySerial.set(device.serialNumber, device);
      const list = this.byUser.get(device.userId) ?? [];
      list.push(device);
      this.byUser.set(device.userId, list);
    }
    this.devices.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  }

  private addRoutes(): void {
    const api = (path: string): string => KNOX_MANAGE_API_PREFIX + path;
    const http = this.http;
    // Some public callers send the token request as a GET with a query string; it works for them.
    http.route(['POST', 'GET'], KNOX_MANAGE_TOKEN_PATH, (r) => this.issueToken(r));
    http.route('POST', api(KNOX_MANAGE_PATHS.selectDeviceList), (r) => this.selectDeviceList(r));
    http.route('POST', api(KNOX_MANAGE_PATHS.selectDeviceInfoByImei), (r) =>
      this.selectDeviceByKey(r, 'imei'),
    );
    http.route('POST', api(KNOX_MANAGE_PATHS.selectDeviceInfoBySerialNumber), (r) =>
      this.selectDeviceByKey(r, 'serialNumber'),
    );
    http.route('POST', api(KNOX_MANAGE_PATHS.selectDevicesByUser), (r) => this.selectDevicesByUser(r));
    http.route(['GET', 'POST'], api(KNOX_MANAGE_PATHS.selectUsers), (r) => this.selectUsers(r));
    http.route('POST', api(KNOX_MANAGE_PATHS.authenticate), (r) => this.authenticate(r));
    http.controlRoute('GET', '/openapi.json', () => ({ status: 200, body: knoxManageOpenApi() }));
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
    const body: KnoxManageTokenResponse = {
      access_token: token,
      token_type: 'bearer',
      expires_in: this.tokenTtlSeconds,
      scope: 'read write',
    };
    return { status: 200, body, headers: { 'cache-control': 'no-store' } };
  }

  private selectDeviceList(request: EmulatorRequest): EmulatorReply {
    const form = parseFormBody(request);
    const start = intField(form, 'start', 0, 0, Number.MAX_SAFE_INTEGER);
    if (!start.ok) return start.reply;
    const limit = intField(form, 'limit', KNOX_MANAGE_MAX_LIMIT, 1, KNOX_MANAGE_MAX_LIMIT);
    if (!limit.ok) return limit.reply;
    const userId = userIdField(form, false);
    if (!userId.ok) return userId.reply;
    const status = form.get('deviceStatus');
    if (status !== null && status !== '' && !(status in KNOX_MANAGE_DEVICE_STATUSES)) {
      return failure('-112', Object.keys(KNOX_MANAGE_DEVICE_STATUSES).join('|'));
    }
    let devices: KnoxManageDeviceInfo[] = userId.value ? (this.byUser.get(userId.value) ?? []) : this.devices;
    if (status) devices = devices.filter((d) => d.deviceStatus === (status as KnoxManageDeviceStatus));
    const value: KnoxManageDeviceListValue = {
      total: devices.length,
      deviceList: devices.slice(start.value, start.value + limit.value).map(toListDevice),
    };
    return envelope(value);
  }

  private selectDeviceByKey(request: EmulatorRequest, key: 'imei' | 'serialNumber'): EmulatorReply {
    const value = parseFormBody(request).get(key);
    if (!value) return failure('-102');
    const device = (key === 'imei' ? this.byImei : this.bySerial).get(value);
    return device ? envelope(device) : failure('-201');
  }

  private selectDevicesByUser(request: EmulatorRequest): EmulatorReply {
    const userId = userIdField(parseFormBody(request), true);
    if (!userId.ok) return userId.reply;
    if (!this.usersById.has(userId.value!)) return failure('-202');
    return envelope((this.byUser.get(userId.value!) ?? []).map(toListDevice));
  }

  private selectUsers(request: EmulatorRequest): EmulatorReply {
    const form = parseFormBody(request);
    const start = intField(form, 'start', 0, 0, Number.MAX_SAFE_INTEGER);
    if (!start.ok) return start.reply;
    const limit = intField(form, 'limit', KNOX_MANAGE_MAX_LIMIT, 1, KNOX_MANAGE_MAX_LIMIT);
    if (!limit.ok) return limit.reply;
    const value: KnoxManageUserListValue = {
      total: this.users.length,
      users: this.users.slice(start.value, start.value + limit.value),
    };
    return envelope(value);
  }

  private authenticate(request: EmulatorRequest): EmulatorReply {
    const form = parseFormBody(request);
    const userId = userIdField(form, true);
    if (!userId.ok) return userId.reply;
    const password = form.get('userPassword');
    if (!password) return failure('-102');
    const rules = KNOX_MANAGE_PASSWORD_RULES;
    if (password.length < rules.minLength || password.length > rules.maxLength)
      return failure('-107', rules.minLength, rules.maxLength);
    if (!rules.digit.test(password)) return failure('-112', 'at least one number');
    if (!rules.letter.test(password)) return failure('-112', 'at least one letter');
    if (!rules.special.test(password)) return failure('-112', 'at least one special character');
    const user = this.usersById.get(userId.value!);
    // One code for unknown user, inactive user and wrong password: the caller must not learn which.
    if (!user || user.userStatus !== 'A' || password !== SEEDED_USER_PASSWORD) return failure('-203');
    const value: KnoxManageAuthenticationValue = {
      userId: user.userId,
      userName: user.userName,
      email: user.email,
    };
    return envelope(value);
  }
}

function toListDevice(d: KnoxManageDeviceInfo): KnoxManageDevice {
  const {
    iccid: _i,
    battery: _b,
    wifiIpAddress: _w,
    isRoaming: _r,
    isContainMalware: _m,
    isRooting: _ro,
    simStatus: _s,
    ...listFields
  } = d;
  return listFields;
}
