import type {
  KnoxManageDevice,
  KnoxManageDeviceInfo,
  KnoxManageDeviceListValue,
  KnoxManageEnvelope,
  KnoxManageOAuthError,
  KnoxManageTokenResponse,
  KnoxManageUserListValue,
} from '../../src/upstreams/knox-manage/knox-manage.wire.js';
import { bearer, postForm, request } from '../helpers/http.js';

/**
 * The Knox Manage Open API contract, run against any target that claims to speak it (the emulator in
 * `npm test`). Business errors are HTTP 200 envelopes with a non-zero string resultCode.
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

type Envelope<T> = KnoxManageEnvelope<T>;

export function knoxManageContract(target: () => KnoxManageContractTarget): void {
  let t: KnoxManageContractTarget;
  let token: string;
  const api = <T>(path: string, fields: Record<string, string | number> = {}, accessToken = token) =>
    postForm<Envelope<T>>(`${t.url}/emm/oapi${path}`, fields, bearer(accessToken));

  beforeAll(async () => {
    t = target();
    const res = await postForm<KnoxManageTokenResponse>(`${t.url}/emm/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: t.clientId,
      client_secret: t.clientSecret,
    });
    token = res.json.access_token;
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
      const res = await postForm<KnoxManageOAuthError>(`${t.url}/emm/oauth/token`, {
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
    it('answers the envelope with total and deviceList', async () => {
      const res = await api<KnoxManageDeviceListValue>('/device/selectDeviceList', { limit: 5 });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        resultCode: '0',
        resultMessage: 'No Error',
        resultValue: { total: t.expectedDeviceIds.length },
      });
      const device = res.json.resultValue!.deviceList[0]!;
      expect(Object.keys(device)).toEqual(
        expect.arrayContaining([
          'deviceId',
          'mobileId',
          'imei',
          'serialNumber',
          'userId',
          'userName',
          'deviceStatus',
          'deviceModel',
          'lastConnectionDate',
          'stdFormatLastConnectionDate',
          'deviceTags',
        ]),
      );
      expect(device.lastConnectionDate).toEqual({ time: expect.any(Number) });
    });

    it('pages with start/limit 1000 through every device exactly once', async () => {
      const seen: string[] = [];
      let total = Infinity;
      let pages = 0;
      for (let start = 0; start < total; start += 1000) {
        const res = await api<KnoxManageDeviceListValue>('/device/selectDeviceList', { start, limit: 1000 });
        total = res.json.resultValue!.total;
        seen.push(...res.json.resultValue!.deviceList.map((d) => d.deviceId));
        pages += 1;
      }
      expect(pages).toBe(Math.ceil(t.expectedDeviceIds.length / 1000));
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual([...t.expectedDeviceIds].sort());
    });

    it('filters by userId and by deviceStatus', async () => {
      const byUser = await api<KnoxManageDeviceListValue>('/device/selectDeviceList', {
        userId: t.knownDevice.userId,
      });
      const list = byUser.json.resultValue!.deviceList;
      expect(list.length).toBeGreaterThan(0);
      expect(list.every((d) => d.userId === t.knownDevice.userId)).toBe(true);
      const active = await api<KnoxManageDeviceListValue>('/device/selectDeviceList', { deviceStatus: 'A' });
      expect(active.json.resultValue!.total).toBeGreaterThan(0);
      expect(active.json.resultValue!.total).toBeLessThan(t.expectedDeviceIds.length);
      expect(active.json.resultValue!.deviceList.every((d) => d.deviceStatus === 'A')).toBe(true);
    });

    it.each([
      ['limit 0', { limit: 0 }, '-107', 'The number must be between 1 and 1000'],
      ['limit 1001', { limit: 1001 }, '-107', 'The number must be between 1 and 1000'],
      ['a negative start', { start: -1 }, '-105', 'The number must be greater than -1'],
      ['a start that is not a number', { start: 'ten' }, '-104', 'Not a number (integer)'],
      ['an unknown deviceStatus', { deviceStatus: 'a' }, '-112', 'The string should match I|P|A|B|BS|BA|BL'],
      [
        'a userId with a space',
        { userId: 'jane doe' },
        '-112',
        expect.stringContaining('The string should match'),
      ],
      [
        'a userId of 51 characters',
        { userId: 'u'.repeat(51) },
        '-109',
        'The string length must be less than 51',
      ],
    ])('refuses %s with resultCode %s', async (_what, fields, code, message) => {
      const res = await api('/device/selectDeviceList', fields);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ resultCode: code, resultMessage: message, resultValue: null });
    });
  });

  describe('single-device and per-user reads', () => {
    it('reads a device by IMEI and by serial number', async () => {
      const byImei = await api<KnoxManageDeviceInfo>('/device/selectDeviceInfoByImei', {
        imei: t.knownDevice.imei,
      });
      expect(byImei.json.resultValue).toMatchObject({
        imei: t.knownDevice.imei,
        serialNumber: t.knownDevice.serialNumber,
      });
      expect(byImei.json.resultValue).toHaveProperty('iccid');
      const bySerial = await api<KnoxManageDeviceInfo>('/device/selectDeviceInfoBySerialNumber', {
        serialNumber: t.knownDevice.serialNumber,
      });
      expect(bySerial.json.resultValue?.deviceId).toBe(byImei.json.resultValue?.deviceId);
    });

    it('answers a non-zero resultCode for an unknown or missing IMEI', async () => {
      expect((await api('/device/selectDeviceInfoByImei', { imei: '000000000000000' })).json).toMatchObject({
        resultCode: '-201',
        resultValue: null,
      });
      expect((await api('/device/selectDeviceInfoByImei', {})).json).toMatchObject({
        resultCode: '-102',
        resultMessage: 'Null or Empty string',
      });
    });

    it("lists a user's devices", async () => {
      const res = await api<KnoxManageDevice[]>('/device/selectDevicesByUser', {
        userId: t.knownDevice.userId,
      });
      expect(res.json.resultValue!.map((d) => d.serialNumber)).toContain(t.knownDevice.serialNumber);
      expect((await api('/device/selectDevicesByUser', { userId: 'no.such.user' })).json.resultCode).toBe(
        '-202',
      );
    });

    it('pages the user list', async () => {
      const first = await api<KnoxManageUserListValue>('/user/selectUsers', { start: 0, limit: 10 });
      expect(first.json.resultValue).toMatchObject({ total: t.expectedUserCount });
      expect(first.json.resultValue!.users).toHaveLength(Math.min(10, t.expectedUserCount));
      const viaGet = await request<Envelope<KnoxManageUserListValue>>(
        'GET',
        `${t.url}/emm/oapi/user/selectUsers?start=0&limit=10`,
        undefined,
        bearer(token),
      );
      expect(viaGet.json.resultValue!.users).toEqual(first.json.resultValue!.users);
    });
  });

  describe('auth/authenticate', () => {
    it('signs in a user with the right password', async () => {
      const res = await api<{ userId: string }>('/auth/authenticate', {
        userId: t.user.userId,
        userPassword: t.user.password,
      });
      expect(res.json).toMatchObject({ resultCode: '0', resultValue: { userId: t.user.userId } });
    });

    it.each([
      ['a missing password', { userPassword: '' }, '-102'],
      ['a password under 8 characters', { userPassword: 'a1!' }, '-107'],
      ['a password over 30 characters', { userPassword: `${'a'.repeat(30)}1!` }, '-107'],
      ['a password without a number', { userPassword: 'abcdefgh!' }, '-112'],
      ['a password without a letter', { userPassword: '12345678!' }, '-112'],
      ['a password without a special character', { userPassword: 'abcdefgh1' }, '-112'],
      ['a userId with a slash', { userId: 'a/b' }, '-112'],
      ['a wrong password', { userPassword: 'Wrong-password-1' }, '-203'],
    ])('refuses %s', async (_what, override, code) => {
      const res = await api('/auth/authenticate', {
        userId: t.user.userId,
        userPassword: t.user.password,
        ...override,
      });
      expect(res.json.resultCode).toBe(code);
      expect(res.json.resultValue).toBeNull();
    });
  });
}
