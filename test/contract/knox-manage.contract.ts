import type { OAuthErrorResponse } from '../../src/upstreams/auth/oauth.wire.js';
import type { KnoxManageTokenResponse } from '../../src/upstreams/knox-manage/knox-manage.wire.js';
import { bearer, postForm, request } from '../helpers/http.js';
import { loadPublishedSpec } from '../helpers/published-spec.js';

/**
 * The Knox Manage Open API contract, run against any target that claims to speak it (the emulator in
 * `npm test`). Business errors are HTTP 200 envelopes with a non-zero string resultCode. Every answer
 * is also checked against the published OpenAPI document (../shared/reference/) with ajv.
 */
export interface KnoxManageContractTarget {
  /** Host root, e.g. http://127.0.0.1:4102 (the client appends /emm/...). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** Knox Manage device ids of every device the tenant holds. */
  expectedDeviceIds: string[];
  knownDevice: { imei: string; serialNumber: string; userId: string };
  expectedUserCount: number;
  /** A user and a password that signs in. */
  user: { userId: string; password: string };
}

/** Answers as the published document spells them (the suite asserts the spelling, not our reading). */
interface Envelope<T> {
  resultCode: string;
  resultMessage: string;
  resultValue?: T;
}
interface Row {
  deviceId: string;
  imei: string;
  serialNumber: string;
  userId: string;
  deviceStatus: string;
  lastConnectionDate?: unknown;
}
interface DevicesWithTotal {
  total: string;
  devicelist: Row[];
}
interface UserResults {
  users: { user: Array<{ userId: string }>; total: number };
}

export function knoxManageContract(target: () => KnoxManageContractTarget): void {
  let t: KnoxManageContractTarget;
  let token: string;
  const spec = loadPublishedSpec();
  /** A POST read, its 200 answer checked against the published document. */
  const api = async <T>(path: string, fields: Record<string, string | number> = {}, accessToken = token) => {
    const res = await postForm<Envelope<T>>(`${t.url}/emm/oapi${path}`, fields, bearer(accessToken));
    if (res.status === 200) expect(spec.check('post', path, res.json)).toEqual([]);
    return res;
  };
  /** A GET read, likewise. */
  const get = async <T>(path: string, query: string) => {
    const res = await request<Envelope<T>>(
      'GET',
      `${t.url}/emm/oapi${path}?${query}`,
      undefined,
      bearer(token),
    );
    if (res.status === 200) expect(spec.check('get', path, res.json)).toEqual([]);
    return res;
  };

  beforeAll(async () => {
    t = target();
    const res = await postForm<KnoxManageTokenResponse>(`${t.url}/emm/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: t.clientId,
      client_secret: t.clientSecret,
    });
    token = String(res.json.access_token);
  });

  describe('OAuth 2.0 token', () => {
    it('answers the documented token fields', async () => {
      const res = await postForm<KnoxManageTokenResponse>(`${t.url}/emm/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
      });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: expect.any(Number),
        scope: expect.any(String),
      });
    });

    it('refuses wrong client credentials with 401 invalid_client', async () => {
      const res = await postForm<OAuthErrorResponse>(`${t.url}/emm/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: 'wrong-secret',
      });
      expect(res.status).toBe(401);
      expect(res.json.error).toBe('invalid_client');
    });

    it('answers 401 to API calls without a token or with an unknown one', async () => {
      const none = await postForm(`${t.url}/emm/oapi/device/selectDeviceList`, {});
      expect(none.status).toBe(401);
      expect((await api('/device/selectDeviceList', {}, '98bfa733-aa70-4491-931f-f35442ff2e7e')).status).toBe(
        401,
      );
    });

    it('accepts "bearer" and "Bearer"', async () => {
      const res = await postForm<Envelope<unknown>>(
        `${t.url}/emm/oapi/device/selectDeviceList`,
        { limit: 1 },
        { authorization: `bearer ${token}` },
      );
      expect(res.json.resultCode).toBe('0');
    });
  });

  describe('selectDeviceList', () => {
    it('answers the published envelope: a string total and the lower-case devicelist', async () => {
      const res = await api<DevicesWithTotal>('/device/selectDeviceList', { limit: 5 });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        resultCode: '0',
        resultMessage: 'No Error',
        resultValue: { total: String(t.expectedDeviceIds.length) },
      });
      const device = res.json.resultValue!.devicelist[0]!;
      expect(Object.keys(device)).toEqual(
        expect.arrayContaining([
          'deviceId',
          'mobileId',
          'imei',
          'serialNumber',
          'userId',
          'deviceStatus',
          'ownerShip',
        ]),
      );
      // The published list rows carry no lastConnectionDate (only DeviceDetail does).
      expect(device).not.toHaveProperty('lastConnectionDate');
    });

    it('pages with start as a row offset and limit 1000 through every device exactly once', async () => {
      const seen: string[] = [];
      let total = Infinity;
      let pages = 0;
      for (let start = 0; start < total; start += 1000) {
        const res = await api<DevicesWithTotal>('/device/selectDeviceList', { start, limit: 1000 });
        total = Number(res.json.resultValue!.total);
        seen.push(...res.json.resultValue!.devicelist.map((d) => d.deviceId));
        pages += 1;
      }
      expect(pages).toBe(Math.ceil(t.expectedDeviceIds.length / 1000));
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual([...t.expectedDeviceIds].sort());
      const offset = await api<DevicesWithTotal>('/device/selectDeviceList', { start: 3, limit: 2 });
      expect(offset.json.resultValue!.devicelist.map((d) => d.deviceId)).toEqual(seen.slice(3, 5));
    });

    it('filters by userId and by deviceStatus', async () => {
      const byUser = await api<DevicesWithTotal>('/device/selectDeviceList', {
        userId: t.knownDevice.userId,
      });
      const list = byUser.json.resultValue!.devicelist;
      expect(list.length).toBeGreaterThan(0);
      expect(list.every((d) => d.userId === t.knownDevice.userId)).toBe(true);
      const active = await api<DevicesWithTotal>('/device/selectDeviceList', { deviceStatus: 'A' });
      const total = Number(active.json.resultValue!.total);
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(t.expectedDeviceIds.length);
      expect(active.json.resultValue!.devicelist.every((d) => d.deviceStatus === 'A')).toBe(true);
    });

    it.each([
      ['limit 0', { limit: 0 }],
      ['limit 1001', { limit: 1001 }],
      ['a start that is not a number', { start: 'ten' }],
      ['an unknown deviceStatus', { deviceStatus: 'a' }],
      ['a userId with a space', { userId: 'jane doe' }],
    ])('refuses %s with 400 Bad Request', async (_what, fields) => {
      expect((await api('/device/selectDeviceList', fields)).status).toBe(400);
    });

    it('refuses a userId of 51 characters with -109', async () => {
      const res = await api('/device/selectDeviceList', { userId: 'u'.repeat(51) });
      expect(res.json).toEqual({
        resultCode: '-109',
        resultMessage: 'Parameter - The string length must be less than 51',
      });
    });
  });

  describe('single-device reads', () => {
    it('reads a device by IMEI and by serial number, with lastConnectionDate as a date-time', async () => {
      const byImei = await api<Row>('/device/selectDeviceInfoByImei', { imei: t.knownDevice.imei });
      expect(byImei.json.resultValue).toMatchObject({
        imei: t.knownDevice.imei,
        serialNumber: t.knownDevice.serialNumber,
        lastConnectionDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      const bySerial = await api<Row>('/device/selectDeviceInfoBySerialNumber', {
        serialNumber: t.knownDevice.serialNumber,
      });
      expect(bySerial.json.resultValue?.deviceId).toBe(byImei.json.resultValue?.deviceId);
    });

    it('answers -205 Data Not found for an unknown IMEI and -102 for a missing one', async () => {
      expect((await api('/device/selectDeviceInfoByImei', { imei: '000000000000000' })).json).toEqual({
        resultCode: '-205',
        resultMessage: 'Data Not found',
      });
      expect((await api('/device/selectDeviceInfoByImei', {})).json).toMatchObject({ resultCode: '-102' });
    });

    it("lists a user's devices as an array (what callers of the real service read)", async () => {
      const res = await postForm<Envelope<Row[]>>(
        `${t.url}/emm/oapi/device/selectDevicesByUser`,
        { userId: t.knownDevice.userId },
        bearer(token),
      );
      expect(res.json.resultValue!.map((d) => d.serialNumber)).toContain(t.knownDevice.serialNumber);
      const unknown = await postForm<Envelope<unknown>>(
        `${t.url}/emm/oapi/device/selectDevicesByUser`,
        { userId: 'no.such.user' },
        bearer(token),
      );
      expect(unknown.json.resultCode).toBe('-205');
    });
  });

  describe('users', () => {
    it('answers GET selectUsers with users.user[] and an integer total, without paging', async () => {
      const all = await get<UserResults>('/user/selectUsers', '');
      expect(all.json.resultValue!.users.total).toBe(t.expectedUserCount);
      expect(all.json.resultValue!.users.user).toHaveLength(t.expectedUserCount);
    });

    it('filters by userId and by extraCondition.userIds, repeated or comma-separated', async () => {
      const ids = [t.user.userId, t.knownDevice.userId];
      const one = await get<UserResults>('/user/selectUsers', `userId=${encodeURIComponent(t.user.userId)}`);
      expect(one.json.resultValue!.users.user.map((u) => u.userId)).toEqual([t.user.userId]);
      const repeated = ids.map((id) => `extraCondition.userIds=${encodeURIComponent(id)}`).join('&');
      const byRepeat = await get<UserResults>('/user/selectUsers', repeated);
      const byComma = await get<UserResults>('/user/selectUsers', `extraCondition.userIds=${ids.join(',')}`);
      const wanted = [...new Set(ids)].sort();
      expect(byRepeat.json.resultValue!.users.user.map((u) => u.userId).sort()).toEqual(wanted);
      expect(byComma.json.resultValue!.users.user.map((u) => u.userId).sort()).toEqual(wanted);
    });

    it('reads one user with GET selectUserWithID, -205 for an unknown one', async () => {
      const found = await get<{ user: { userId: string } }>(
        '/user/selectUserWithID',
        `userId=${t.user.userId}`,
      );
      expect(found.json.resultValue!.user.userId).toBe(t.user.userId);
      const missing = await get('/user/selectUserWithID', 'userId=no.such.user');
      expect(missing.json).toEqual({ resultCode: '-205', resultMessage: 'Data Not found' });
    });
  });

  describe('auth/authenticate', () => {
    it('signs in a user with the right password', async () => {
      const res = await api<{ userId: string }>('/auth/authenticate', {
        userId: t.user.userId,
        userPassword: t.user.password,
      });
      expect(res.json).toEqual({
        resultCode: '0',
        resultMessage: 'No Error',
        resultValue: { userId: t.user.userId },
      });
    });

    it.each([
      ['a wrong password', { userPassword: 'Wrong-password-1' }, '-224'],
      ['a password that breaks the documented rules', { userPassword: 'abcdefgh1' }, '-224'],
      ['an unknown user', { userId: 'no.such.user' }, '-223'],
      ['a missing password', { userPassword: '' }, '-102'],
    ])('refuses %s with %s', async (_what, fields, code) => {
      const res = await api('/auth/authenticate', {
        userId: t.user.userId,
        userPassword: t.user.password,
        ...fields,
      });
      expect(res.json.resultCode).toBe(code);
    });
  });
}
