/**
 * Three small stand-ins for KDMS, Knox Manage and the Box admin API, written from the public texts
 * alone: the KDMS tutorial, the Knox Manage Open API introduction and published spec facts, and
 * chapter 6 of the RHMAP Platform API (the seeds in /work/shared/seeds and reference/README.md).
 *
 * This file deliberately imports nothing from src/ — no wire modules, no emulator code, no constants.
 * It is a second, independent reading of the documentation, as a new user would write it. Fleetgraph's
 * own emulators share their wire definitions with its clients, so a misreading made once is agreed on
 * by both sides and no test can see it; these stubs can disagree, and a test against them shows where.
 *
 * Where the texts are silent, the stubs do the plainest thing and say so in a comment. KDMS devices
 * carry only the attributes the tutorial lists; everything else is absent, not null.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// ---- the fleet the three stubs share -----------------------------------------------------------

/** Appends the Luhn check digit an IMEI's 15th digit is. */
export function withLuhnCheckDigit(fourteenDigits: string): string {
  if (!/^\d{14}$/.test(fourteenDigits)) throw new Error(`expected 14 digits, got "${fourteenDigits}"`);
  let sum = 0;
  // From the right of the full 15-digit number, every second digit (starting next to the check digit) doubles.
  for (let i = 0; i < 14; i += 1) {
    let digit = Number(fourteenDigits[13 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return fourteenDigits + String((10 - (sum % 10)) % 10);
}

export const SEED_STUB_CUSTOMER_ID = '7301238573';

export const SEED_STUB_CREDENTIALS = {
  kdms: { clientId: 'seed-kdms-client', clientSecret: 'seed-kdms-secret' },
  knoxManage: { clientId: 'APItest@seed.example', clientSecret: 'APItestpassword1!' },
  box: { apiKey: 'seed-box-user-api-key' },
} as const;

interface StubApp {
  guid: string;
  name: string;
  description: string;
}

interface StubDeviceUser {
  guid: string;
  userId: string;
  email: string;
}

export interface StubDevice {
  imei: string;
  serialNumber: string;
  /** Model number, as both KDMS ("model name") and Knox Manage (`deviceModel`) would report it. */
  model: string;
  kdms?: { deviceId: string; uploadId: string };
  knoxManage?: {
    deviceId: string;
    mobileId: string;
    /** I, P, A, B, BS, BA or BL, as the spec lists them. */
    deviceStatus: string;
    userId: string;
    phone: string;
    modelKind: string;
    lastConnectionDate: string;
  };
  box?: {
    guid: string;
    name: string;
    disabled: boolean;
    blacklisted: boolean;
    apps: StubApp[];
    users: StubDeviceUser[];
  };
}

export interface StubUser {
  userId: string;
  userName: string;
  email: string;
  password: string;
}

/** Known to all three APIs. */
export const DEVICE_IN_ALL_THREE: StubDevice = {
  imei: withLuhnCheckDigit('35260811234567'),
  serialNumber: 'R58N12ABCDE',
  model: 'SM-S921B',
  kdms: { deviceId: '3f1d8c2e-5b7a-4c1e-9a2f-0d6b1e8c4a57', uploadId: 'upload-0001' },
  knoxManage: {
    deviceId: 'KM0000000001',
    mobileId: 'field-tablet-7',
    deviceStatus: 'A',
    userId: 'kmuser1',
    phone: '+4915112345678',
    modelKind: 'Galaxy S24',
    lastConnectionDate: '2025-05-19T21:41:33Z',
  },
  box: {
    guid: 'xqumt5wyw6dipverrrxsefhy',
    name: 'Field tablet 7',
    disabled: false,
    blacklisted: false,
    apps: [{ guid: 'aplq3wzs7v2m5n4k6j8h0gfd', name: 'Work Orders', description: 'Field work orders' }],
    users: [{ guid: 'usr7kz2b5x9c4v6n8m1q3wer', userId: 'kmuser1', email: 'kmuser1@seed.example' }],
  },
};

/** Known to Knox Manage and Box, never uploaded to KDMS. */
export const DEVICE_NOT_IN_KDMS: StubDevice = {
  imei: withLuhnCheckDigit('35260811234575'),
  serialNumber: 'R58N34FGHIJ',
  model: 'SM-A546B',
  knoxManage: {
    deviceId: 'KM0000000002',
    mobileId: 'warehouse-scanner-2',
    deviceStatus: 'A',
    userId: 'kmuser2',
    phone: '+4915187654321',
    modelKind: 'Galaxy A54',
    lastConnectionDate: '2025-05-18T08:02:11Z',
  },
  box: {
    guid: 'd4k9w2m7x5c8v3b6n1q0zlpa',
    name: 'Warehouse scanner 2',
    disabled: true,
    blacklisted: false,
    apps: [],
    users: [],
  },
};

export const SEED_STUB_DEVICES: readonly StubDevice[] = [DEVICE_IN_ALL_THREE, DEVICE_NOT_IN_KDMS];

export const SEED_STUB_USERS: readonly StubUser[] = [
  { userId: 'kmuser1', userName: 'Kim Mira', email: 'kmuser1@seed.example', password: 'kmuserpassword1!' },
  { userId: 'kmuser2', userName: 'Lee Jun', email: 'kmuser2@seed.example', password: 'kmuserpassword2!' },
];

// ---- a minimal HTTP frame ---------------------------------------------------------------------

interface StubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

interface StubReply {
  status: number;
  /** Serialised as JSON; undefined sends no body. */
  body?: unknown;
}

type Handler = (request: StubRequest) => StubReply;

const json = (status: number, body?: unknown): StubReply => ({ status, body });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A JSON object body, or null when the body is not one. */
function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

async function listen(
  handler: Handler,
  count: (key: string) => void,
): Promise<{ server: Server; origin: string }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stub.invalid');
      const method = req.method ?? 'GET';
      count(`${method} ${url.pathname}`);
      let reply: StubReply;
      try {
        reply = handler({
          method,
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: await readBody(req),
        });
      } catch (error) {
        reply = json(500, { message: error instanceof Error ? error.message : String(error) });
      }
      if (reply.body === undefined) {
        res.writeHead(reply.status).end();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify(reply.body));
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

/** Issued bearer tokens of one stub, with the scope each was granted. */
class TokenBook {
  private readonly tokens = new Map<string, string>();
  issue(scope: string): string {
    const token = randomUUID();
    this.tokens.set(token, scope);
    return token;
  }
  /** The scope of the token in `Authorization`, or null when it is missing or unknown. */
  scopeOf(authorization: string | undefined, scheme: RegExp): string | null {
    const match = scheme.exec(authorization ?? '');
    return match?.[1] ? (this.tokens.get(match[1]) ?? null) : null;
  }
}

// ---- KDMS (and the bits of Knox Webhook Notification Fleetgraph touches at start) ---------------

function kdmsHandler(devices: StubDevice[]): Handler {
  const tokens = new TokenBook();
  /** KWN subscriptions: not in the seed; held only so Fleetgraph's start-up subscription finds its own. */
  const subscriptions: Array<Record<string, unknown>> = [];
  const { clientId, clientSecret } = SEED_STUB_CREDENTIALS.kdms;
  // The tutorial: "Authorization … with value Bearer <your-oauth2.0-access-token>". Schemes are case-insensitive (RFC 7235).
  const bearer = /^bearer\s+(\S+)$/i;
  const unauthorized = json(401, { code: 'UNAUTHORIZED', message: 'Missing or invalid access token' });
  const invalidParam = (detail: string) =>
    json(400, { code: 'INVALID_PARAM', message: `Invalid parameter(s) provided: ${detail}` });

  return (request) => {
    const { method, path } = request;
    if (method === 'POST' && path === '/ams/v1/oauth2/token') {
      // Knox OAuth 2.0 client-credentials flow, form-encoded.
      const form = new URLSearchParams(request.body);
      if (form.get('grant_type') !== 'client_credentials')
        return json(400, { error: 'unsupported_grant_type' });
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret)
        return json(401, { error: 'invalid_client' });
      const scope = form.get('scope') || 'kdms.devices';
      return json(200, { access_token: tokens.issue(scope), token_type: 'Bearer', expires_in: 600, scope });
    }
    if (method === 'GET' && path === '/downloadCertificate') {
      // Only needed to verify webhook callbacks, which these stubs never send.
      return json(404, { code: 'NOT_FOUND', message: 'No validation certificate in the seed stub' });
    }

    const scope = tokens.scopeOf(request.headers.authorization, bearer);
    if (scope === null) return unauthorized;

    if (path === '/kwn/v1/subscriptions' || path.startsWith('/kwn/v1/subscriptions/')) {
      if (method === 'GET' && path === '/kwn/v1/subscriptions') return json(200, { subscriptions });
      const body = jsonObject(request.body);
      if (!body) return invalidParam('body must be a JSON object');
      if (method === 'POST' && path === '/kwn/v1/subscriptions') {
        const created = { ...body, subscriptionId: `s${subscriptions.length + 1}` };
        subscriptions.push(created);
        return json(201, created);
      }
      if (method === 'PUT') {
        const id = decodeURIComponent(path.slice('/kwn/v1/subscriptions/'.length));
        const index = subscriptions.findIndex((s) => s.subscriptionId === id);
        if (index < 0) return json(404, { code: 'NOT_FOUND', message: `No subscription ${id}` });
        const updated = { ...body, subscriptionId: id };
        subscriptions[index] = updated;
        return json(200, updated);
      }
      return json(405, { code: 'METHOD_NOT_ALLOWED', message: `${method} ${path}` });
    }

    if (method === 'POST' && path === '/kdms/v1/devices/getDevices') {
      // Scopes from the tutorial: kdms.devices (everything) or kdms.devices:read (get operations).
      const granted = scope.split(' ');
      if (!granted.includes('kdms.devices') && !granted.includes('kdms.devices:read'))
        return json(403, { code: 'FORBIDDEN', message: 'Scope kdms.devices or kdms.devices:read required' });
      const body = request.body.trim() === '' ? {} : jsonObject(request.body);
      if (!body) return invalidParam('body must be a JSON object');
      return getDevices(devices, body, invalidParam);
    }
    return json(404, { code: 'NOT_FOUND', message: `${method} ${path}` });
  };
}

/**
 * "You can filter based on: Upload ID …; a list of IMEIs or serial numbers … paginate … with the
 * searchAfter and pageSize parameters … providing a device ID in searchAfter". The JSON names of the
 * identifier list are not published, so the three natural spellings are all read.
 */
function getDevices(
  devices: StubDevice[],
  body: Record<string, unknown>,
  invalidParam: (detail: string) => StubReply,
): StubReply {
  const identifiers = new Set<string>();
  let filtered = false;
  for (const key of ['deviceIds', 'imeis', 'serialNumbers']) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) return invalidParam(`${key} must be a list`);
    filtered = true;
    // KAI's published samples send IMEIs as bare numbers; read them as the same identifiers.
    for (const id of value) if (typeof id === 'string' || typeof id === 'number') identifiers.add(String(id));
  }
  const uploadId = typeof body.uploadId === 'string' ? body.uploadId : undefined;
  const searchAfter = typeof body.searchAfter === 'string' ? body.searchAfter : undefined;
  const pageSize = body.pageSize === undefined ? 100 : body.pageSize;
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1)
    return invalidParam('pageSize must be a positive whole number');

  const registered = devices
    .filter((d): d is StubDevice & { kdms: NonNullable<StubDevice['kdms']> } => d.kdms !== undefined)
    .filter((d) => !filtered || identifiers.has(d.imei) || identifiers.has(d.serialNumber))
    .filter((d) => uploadId === undefined || d.kdms.uploadId === uploadId)
    .sort((a, b) => a.kdms.deviceId.localeCompare(b.kdms.deviceId))
    .filter((d) => searchAfter === undefined || d.kdms.deviceId.localeCompare(searchAfter) > 0)
    .slice(0, pageSize);
  // Only the attributes the tutorial lists. This fleet has no secondary IMEI or MEID, so those keys
  // are absent; there is no total, cursor, upload id, target service or date in the reply.
  return json(200, {
    devices: registered.map((d) => ({
      deviceId: d.kdms.deviceId,
      customerId: SEED_STUB_CUSTOMER_ID,
      imei: d.imei,
      serialNumber: d.serialNumber,
      modelName: d.model,
    })),
  });
}

// ---- Knox Manage -------------------------------------------------------------------------------

type KnoxManaged = StubDevice & { knoxManage: NonNullable<StubDevice['knoxManage']> };

const TENANT_ID = 'seed.example';
const ORG = { orgCode: 'ORG01', orgName: 'Field Operations' };

/** A `DeviceList` row of the published spec (`ownerShip` with a capital S; no lastConnectionDate). */
function deviceListRow(d: KnoxManaged, users: readonly StubUser[]): Record<string, unknown> {
  const owner = users.find((u) => u.userId === d.knoxManage.userId);
  return {
    tenantId: TENANT_ID,
    deviceId: d.knoxManage.deviceId,
    mobileId: d.knoxManage.mobileId,
    deviceStatus: d.knoxManage.deviceStatus,
    platform: 'A',
    managementType: 'DO',
    enrolledType: 'KME',
    imei: d.imei,
    serialNumber: d.serialNumber,
    phone: d.knoxManage.phone,
    userId: d.knoxManage.userId,
    userName: owner?.userName ?? '',
    email: owner?.email ?? '',
    ...ORG,
    deviceModel: d.model,
    deviceModelKind: d.knoxManage.modelKind,
    deviceVersionName: '14',
    deviceMaker: 'samsung',
    ownerShip: 'C',
    deviceKind: 'Phone',
    isDeviceLock: 'N',
    updated: d.knoxManage.lastConnectionDate,
  };
}

/** A `DeviceDetail` of the published spec; its dates are date-time strings. */
function deviceDetail(d: KnoxManaged): Record<string, unknown> {
  return {
    deviceId: d.knoxManage.deviceId,
    mobileId: d.knoxManage.mobileId,
    userId: d.knoxManage.userId,
    deviceStatus: d.knoxManage.deviceStatus,
    platform: 'A',
    phone: d.knoxManage.phone,
    deviceVersionName: '14',
    ownerShip: 'C',
    deviceModel: d.model,
    deviceKind: 'Phone',
    deviceModelKind: d.knoxManage.modelKind,
    imei: d.imei,
    serialNumber: d.serialNumber,
    lastConnectionDate: d.knoxManage.lastConnectionDate,
    isDeviceLock: 'N',
    updated: d.knoxManage.lastConnectionDate,
    created: '2024-11-02T09:00:00Z',
    enrolledType: 'KME',
    managementType: 'DO',
    groupList: [],
    groupIdList: [],
    ...ORG,
  };
}

/** A `UserEmm` of the published spec (`created` is typed date-time there, so a date-time string). */
function userEmm(u: StubUser): Record<string, unknown> {
  return {
    tenantId: TENANT_ID,
    userId: u.userId,
    userName: u.userName,
    email: u.email,
    ...ORG,
    userType: '0',
    enabled: '1',
    created: '2024-11-01T12:00:00Z',
    createdDate: '2024-11-01T12:00:00Z',
  };
}

function knoxManageHandler(devices: StubDevice[], users: readonly StubUser[]): Handler {
  const tokens = new TokenBook();
  const { clientId, clientSecret } = SEED_STUB_CREDENTIALS.knoxManage;
  // "Authorization: Bearer{bearer_token}" in the text, "bearer98bf…" in the samples: any case, space optional.
  const bearer = /^bearer\s*(\S+)$/i;
  const managed = devices.filter((d): d is KnoxManaged => d.knoxManage !== undefined);
  const ok = (resultValue: unknown) => json(200, { resultCode: '0', resultMessage: 'No Error', resultValue });
  // "If the result is error, this value is empty": resultValue is left out.
  const fail = (resultCode: string, resultMessage: string) => json(200, { resultCode, resultMessage });
  const notFound = () => fail('-205', 'Data Not found');
  const emptyParam = () => fail('-102', 'Parameter - Null or Empty string');

  const devicePosts: Record<string, (form: URLSearchParams) => StubReply> = {
    selectDeviceList: (form) => {
      // `start` is a row offset, `limit` a row count (the spec's DeviceSearhParamSchema).
      const start = Number(form.get('start') ?? 0);
      const limit = Number(form.get('limit') ?? 1000);
      if (!Number.isInteger(start) || start < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000)
        return fail('-102', 'Parameter - start must be >= 0 and 0 < limit <= 1000');
      const userId = form.get('userId');
      const status = form.get('deviceStatus');
      const rows = managed
        .filter((d) => !userId || d.knoxManage.userId === userId)
        .filter((d) => !status || d.knoxManage.deviceStatus === status);
      return ok({
        total: String(rows.length),
        devicelist: rows.slice(start, start + limit).map((d) => deviceListRow(d, users)),
      });
    },
    selectDeviceInfo: (form) => detailBy(form.get('deviceId'), (d, v) => d.knoxManage.deviceId === v),
    selectDeviceInfoByImei: (form) => detailBy(form.get('imei'), (d, v) => d.imei === v),
    selectDeviceInfoBySerialNumber: (form) =>
      detailBy(form.get('serialNumber'), (d, v) => d.serialNumber === v),
    selectDeviceInfoByMobileId: (form) =>
      detailBy(form.get('mobileId'), (d, v) => d.knoxManage.mobileId === v),
    selectDevicesByUser: (form) => {
      const userId = form.get('userId');
      if (!userId) return emptyParam();
      // The schema declares one DeviceList object here, not an array; the stub answers as declared.
      const first = managed.find((d) => d.knoxManage.userId === userId);
      return first ? ok(deviceListRow(first, users)) : notFound();
    },
  };

  function detailBy(value: string | null, matches: (d: KnoxManaged, value: string) => boolean): StubReply {
    if (!value) return emptyParam();
    const device = managed.find((d) => matches(d, value));
    return device ? ok(deviceDetail(device)) : notFound();
  }

  return (request) => {
    const { method, path } = request;
    if (method === 'POST' && path === '/emm/oauth/token') {
      const form = new URLSearchParams(request.body);
      if (form.get('grant_type') !== 'client_credentials')
        return json(400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret)
        return json(401, { error: 'invalid_client', error_description: 'Bad client credentials' });
      // expires_in is the spec's own sample value: it says how long, and callers must not assume less.
      return json(200, {
        access_token: tokens.issue('read'),
        token_type: 'bearer',
        expires_in: 997331046,
        scope: 'read',
      });
    }
    if (!path.startsWith('/emm/oapi/')) return json(404, { error: 'not_found', error_description: path });
    if (tokens.scopeOf(request.headers.authorization, bearer) === null) {
      const token = /^bearer\s*(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      return json(401, { error: 'invalid_token', error_description: `Invalid access token: ${token}` });
    }

    const operation = path.slice('/emm/oapi/'.length);
    if (operation.startsWith('device/')) {
      const handle = devicePosts[operation.slice('device/'.length)];
      if (!handle) return json(404, { error: 'not_found', error_description: path });
      // Every device operation is a POST with a form body.
      if (method !== 'POST') return json(405, { error: 'method_not_allowed', error_description: method });
      return handle(new URLSearchParams(request.body));
    }
    if (operation === 'user/selectUsers' || operation === 'user/selectUserWithID') {
      // The user reads are GETs with query parameters in the spec.
      if (method !== 'GET') return json(405, { error: 'method_not_allowed', error_description: method });
      const q = request.query;
      if (operation === 'user/selectUserWithID') {
        const userId = q.get('userId');
        if (!userId) return emptyParam();
        const user = users.find((u) => u.userId === userId);
        return user ? ok({ user: userEmm(user) }) : notFound();
      }
      const userId = q.get('userId');
      const nameLike = q.get('userName');
      const idLike = q.get('extraCondition.userIdLike');
      // "SQL in condition" in a single string parameter: read as a comma-separated list.
      const ids = q
        .get('extraCondition.userIds')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const found = users
        .filter((u) => !userId || u.userId === userId)
        .filter((u) => !nameLike || u.userName.includes(nameLike))
        .filter((u) => !idLike || u.userId.includes(idLike))
        .filter((u) => !ids?.length || ids.includes(u.userId));
      return ok({ users: { user: found.map(userEmm), total: found.length } });
    }
    if (operation === 'auth/authenticate') {
      if (method !== 'POST') return json(405, { error: 'method_not_allowed', error_description: method });
      const form = new URLSearchParams(request.body);
      const userId = form.get('userId');
      const password = form.get('userPassword');
      if (!userId || !password) return emptyParam();
      const user = users.find((u) => u.userId === userId);
      if (!user) return fail('-223', 'No userId found from User Info Repository, please check userID');
      if (user.password !== password)
        return fail('-224', 'Authentication failed, please check Id or password');
      return ok({ userId });
    }
    return json(404, { error: 'not_found', error_description: path });
  };
}

// ---- Box (RHMAP admin API, chapter 6) ------------------------------------------------------------

type BoxKnown = StubDevice & { box: NonNullable<StubDevice['box']> };

function boxHandler(devices: StubDevice[]): Handler {
  const prefix = '/box/srv/1.1/admin/device/';
  const known = devices.filter((d): d is BoxKnown => d.box !== undefined);
  const error = (status: number, message: string) => json(status, { status: 'error', message });
  // The device's cuid is the id it gave itself; in this fleet, its IMEI.
  const fields = (d: BoxKnown) => ({
    cuid: d.imei,
    name: d.box.name,
    disabled: d.box.disabled,
    blacklisted: d.box.blacklisted,
  });

  return (request) => {
    const { method, path } = request;
    if (!path.startsWith(prefix)) return error(404, `No such endpoint: ${path}`);
    // "X-FH-AUTH-USER should be in every header of every request."
    if (request.headers['x-fh-auth-user'] !== SEED_STUB_CREDENTIALS.box.apiKey)
      return error(401, 'Unauthorised: a valid X-FH-AUTH-USER API key is required');
    // Chapter 6 gives every device endpoint as POST with a JSON body.
    if (method !== 'POST') return error(405, `${method} is not allowed on ${path}`);
    const body = request.body.trim() === '' ? {} : jsonObject(request.body);
    if (!body) return error(400, 'Request body must be a JSON object');
    const operation = path.slice(prefix.length);

    if (operation === 'list') {
      return json(200, {
        status: 'ok',
        count: known.length,
        list: known.map((d) => ({ guid: d.box.guid, fields: fields(d) })),
      });
    }
    if (!['read', 'update', 'listapps', 'listusers'].includes(operation))
      return error(404, `No such endpoint: ${path}`);
    if (typeof body.cuid !== 'string' || body.cuid === '') return error(400, 'cuid is required');
    const device = known.find((d) => d.imei === body.cuid);
    // The chapter names no status codes; 404 is the plainest for an unknown device.
    if (!device) return error(404, `Device not found: ${body.cuid}`);

    switch (operation) {
      case 'update':
        // Omitted optional fields keep their value: "DEFAULT=false" reads as the value of a new record.
        if (typeof body.name === 'string') device.box.name = body.name;
        if (typeof body.disabled === 'boolean') device.box.disabled = body.disabled;
        if (typeof body.blacklisted === 'boolean') device.box.blacklisted = body.blacklisted;
        return json(200, { status: 'ok', guid: device.box.guid, fields: fields(device) });
      case 'listapps':
        return json(200, {
          status: 'ok',
          count: device.box.apps.length,
          list: device.box.apps.map((a) => ({
            guid: a.guid,
            fields: { name: a.name, description: a.description },
          })),
        });
      case 'listusers':
        return json(200, {
          status: 'ok',
          count: device.box.users.length,
          list: device.box.users.map((u) => ({ guid: u.guid, fields: { userId: u.userId, email: u.email } })),
        });
      default:
        return json(200, { status: 'ok', guid: device.box.guid, fields: fields(device) });
    }
  };
}

// ---- start -------------------------------------------------------------------------------------

export interface SeedStubUpstreams {
  /** KDMS API base including its path prefix (…/kdms/v1); the KWN paths live at its origin. */
  kdmsUrl: string;
  /** The Knox OAuth 2.0 token endpoint (…/ams/v1/oauth2/token). */
  kdmsTokenUrl: string;
  /** Knox Manage host root (/emm/oauth/token and /emm/oapi/… below it). */
  knoxManageUrl: string;
  /** Box domain host root (/box/srv/1.1/admin/… below it). */
  boxUrl: string;
  credentials: typeof SEED_STUB_CREDENTIALS;
  /** Requests received since start (or the last reset), keyed "METHOD /path" (no query string). */
  calls(): Record<string, number>;
  resetCalls(): void;
  stop(): Promise<void>;
}

export async function startSeedStubUpstreams(): Promise<SeedStubUpstreams> {
  // Per start: Box updates change a device, and no two starts may share that state.
  const devices = structuredClone(SEED_STUB_DEVICES) as StubDevice[];
  let counts: Record<string, number> = {};
  const count = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const started: Server[] = [];
  try {
    const kdms = await listen(kdmsHandler(devices), count);
    started.push(kdms.server);
    const knoxManage = await listen(knoxManageHandler(devices, SEED_STUB_USERS), count);
    started.push(knoxManage.server);
    const box = await listen(boxHandler(devices), count);
    started.push(box.server);
    return {
      kdmsUrl: `${kdms.origin}/kdms/v1`,
      kdmsTokenUrl: `${kdms.origin}/ams/v1/oauth2/token`,
      knoxManageUrl: knoxManage.origin,
      boxUrl: box.origin,
      credentials: SEED_STUB_CREDENTIALS,
      calls: () => ({ ...counts }),
      resetCalls: () => {
        counts = {};
      },
      stop: () => closeAll(started),
    };
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Clients keep connections alive; without this, close() would wait for them to time out.
          server.closeAllConnections();
        }),
    ),
  );
}
