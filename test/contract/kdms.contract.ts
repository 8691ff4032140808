import { compactVerify, importX509 } from 'jose';
import type {
  KdmsErrorResponse,
  KdmsGetDevicesResponse,
  KdmsOperationAccepted,
  KnoxTokenResponse,
  KwnKdmsEventNotification,
  KwnSubscription,
  KwnSubscriptionList,
  OAuthErrorResponse,
} from '../../src/upstreams/kdms/kdms.wire.js';
import { KWN_SIGNATURE_HEADER } from '../../src/upstreams/kdms/kdms.wire.js';
import { bearer, postForm, postJson, request } from '../helpers/http.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import type { WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * The KDMS contract, written once (in the manner of keyv's shared adapter suites) and run against any
 * target that claims to speak it: the emulator in `npm test`, a real tenant when pointed at one.
 * It only uses documented (or wire-module) behaviour, never emulator internals.
 */
export interface KdmsContractTarget {
  /** API base including the service prefix, e.g. http://127.0.0.1:4101/kdms/v1. */
  apiUrl: string;
  tokenUrl: string;
  /** Host serving /kwn/v1/subscriptions and /downloadCertificate. */
  kwnUrl: string;
  clientId: string;
  clientSecret: string;
  /** IMEI (or serial number when there is none) of every device the tenant holds. */
  expectedDeviceKeys: string[];
  /** A device the tenant holds, by all its identifiers. */
  knownDevice: { imei: string; secondaryImei: string | null; serialNumber: string };
  /** Valid IMEIs the tenant does not hold yet; each call returns new ones. */
  freshImeis(count: number): string[];
  /** A valid IMEI that another account holds. */
  foreignImei: string;
  /** How long an upload takes to settle, so waits are bounded. */
  asyncDelayMs: number;
}

export function kdmsContract(target: () => KdmsContractTarget): void {
  let t: KdmsContractTarget;
  let fullToken: string;
  let readToken: string;
  let receiver: WebhookReceiver;
  let subscriptionId: string;

  const token = async (scope?: string): Promise<string> => {
    const fields: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: t.clientId,
      client_secret: t.clientSecret,
    };
    if (scope) fields.scope = scope;
    const res = await postForm<KnoxTokenResponse>(t.tokenUrl, fields);
    expect(res.status).toBe(200);
    return res.json.access_token;
  };
  const getDevices = (body: unknown, accessToken = fullToken) =>
    postJson<KdmsGetDevicesResponse & KdmsErrorResponse>(
      `${t.apiUrl}/devices/getDevices`,
      body,
      bearer(accessToken),
    );
  const subscribe = (body: unknown) =>
    postJson<KwnSubscription & KdmsErrorResponse>(
      `${t.kwnUrl}/kwn/v1/subscriptions`,
      body,
      bearer(fullToken),
    );

  /** Waits for the callback of one operation and returns it verified against the served certificate. */
  const verifiedCallback = async (uploadId: string): Promise<KwnKdmsEventNotification> => {
    const certificate = await request(`GET`, `${t.kwnUrl}/downloadCertificate`);
    const key = await importX509(certificate.text, 'RS256');
    for (let seen = 1; ; seen++) {
      const all = await receiver.waitFor(seen);
      const callback = all[seen - 1]!;
      const body = JSON.parse(callback.body.toString('utf8')) as KwnKdmsEventNotification;
      if (body.data.uploadId !== uploadId) continue;
      const signature = String(callback.headers[KWN_SIGNATURE_HEADER]);
      const { payload, protectedHeader } = await compactVerify(signature, key);
      expect(protectedHeader.alg).toBe('RS256');
      // The JWS payload is the raw body: what was signed is what arrived.
      expect(Buffer.from(payload).equals(callback.body)).toBe(true);
      return body;
    }
  };

  beforeAll(async () => {
    t = target();
    fullToken = await token();
    readToken = await token('kdms.devices:read');
    receiver = await startWebhookReceiver();
    const created = await subscribe({
      callbackUrl: receiver.url,
      events: ['KDMS_DEVICE_UPLOAD', 'KDMS_DEVICE_DELETE'],
      description: 'contract suite',
    });
    expect(created.status).toBe(201);
    subscriptionId = created.json.subscriptionId;
  });

  afterAll(async () => {
    await request(
      'DELETE',
      `${t.kwnUrl}/kwn/v1/subscriptions/${subscriptionId}`,
      undefined,
      bearer(fullToken),
    );
    await receiver.close();
  });

  describe('OAuth 2.0 token', () => {
    it('issues a Bearer token for the client credentials, with every granted scope', async () => {
      const res = await postForm<KnoxTokenResponse>(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
      });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 600,
        scope: expect.stringContaining('kdms.devices'),
      });
    });

    it('honours a requested scope and an expires_in up to 60 minutes', async () => {
      const res = await postForm<KnoxTokenResponse>(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        scope: 'kdms.devices:read',
        expires_in: 3600,
      });
      expect(res.json).toMatchObject({ scope: 'kdms.devices:read', expires_in: 3600 });
      const tooLong = await postForm<OAuthErrorResponse>(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        expires_in: 3601,
      });
      expect(tooLong.status).toBe(400);
      expect(tooLong.json.error).toBe('invalid_request');
    });

    it.each([
      ['a wrong secret', { client_secret: 'wrong' }, 401, 'invalid_client'],
      ['an unknown client', { client_id: 'nobody' }, 401, 'invalid_client'],
      ['another grant type', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
      ['a scope it was not granted', { scope: 'kai.devices' }, 400, 'invalid_scope'],
    ])('refuses %s', async (_what, override, status, error) => {
      const res = await postForm<OAuthErrorResponse>(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        ...override,
      });
      expect(res.status).toBe(status);
      expect(res.json.error).toBe(error);
    });
  });

  describe('bearer tokens and scopes', () => {
    it('answers 401 without a token and with an unknown one', async () => {
      const none = await postJson<KdmsErrorResponse>(`${t.apiUrl}/devices/getDevices`, {});
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const bad = await getDevices({}, 'not-a-token');
      expect(bad.status).toBe(401);
      expect(bad.json.code).toBe('UNAUTHORIZED');
    });

    it('lets a read-only token read, and answers 403 to its upload and delete', async () => {
      expect((await getDevices({ pageSize: 1 }, readToken)).status).toBe(200);
      for (const op of ['upload', 'delete']) {
        const res = await postJson<KdmsErrorResponse>(
          `${t.apiUrl}/devices/${op}`,
          { deviceIds: t.freshImeis(1), targetServices: ['KAI'] },
          bearer(readToken),
        );
        expect(res.status).toBe(403);
        expect(res.json.code).toBe('FORBIDDEN');
      }
    });

    it('accepts the scheme in any case', async () => {
      const res = await postJson(
        `${t.apiUrl}/devices/getDevices`,
        { pageSize: 1 },
        { authorization: `bearer ${fullToken}` },
      );
      expect(res.status).toBe(200);
    });
  });

  describe('getDevices', () => {
    it('pages with searchAfter through every device exactly once', async () => {
      const seen: string[] = [];
      let searchAfter: string | undefined;
      let pages = 0;
      let totalCount = -1;
      do {
        const res = await getDevices({ pageSize: 100, ...(searchAfter ? { searchAfter } : {}) });
        expect(res.status).toBe(200);
        totalCount = res.json.totalCount;
        seen.push(...res.json.devices.map((d) => d.imei ?? d.serialNumber ?? d.deviceId));
        searchAfter = res.json.nextSearchAfter ?? undefined;
        pages += 1;
      } while (searchAfter);
      expect(pages).toBe(Math.ceil(t.expectedDeviceKeys.length / 100));
      expect(new Set(seen).size).toBe(seen.length);
      expect(totalCount).toBe(t.expectedDeviceKeys.length);
      expect([...seen].sort()).toEqual([...t.expectedDeviceKeys].sort());
    });

    it('filters by IMEI, secondary IMEI and serial number, and ignores unknown ids', async () => {
      const d = t.knownDevice;
      for (const id of [d.imei, d.serialNumber, ...(d.secondaryImei ? [d.secondaryImei] : [])]) {
        const res = await getDevices({ deviceIds: [id, t.freshImeis(1)[0]] });
        expect(res.json.devices).toHaveLength(1);
        expect(res.json.devices[0]).toMatchObject({ imei: d.imei, serialNumber: d.serialNumber });
        expect(res.json.nextSearchAfter).toBeNull();
      }
    });

    it('filters by uploadId', async () => {
      const first = await getDevices({ deviceIds: [t.knownDevice.imei] });
      const uploadId = first.json.devices[0]!.uploadId;
      const res = await getDevices({ uploadId, pageSize: 1000 });
      expect(res.json.devices.length).toBeGreaterThan(0);
      expect(res.json.devices.every((d) => d.uploadId === uploadId)).toBe(true);
      expect(res.json.totalCount).toBe(res.json.devices.length);
    });

    it.each([
      ['pageSize 0', { pageSize: 0 }],
      ['pageSize above the limit', { pageSize: 5000 }],
      ['deviceIds that are not a list', { deviceIds: 'abc' }],
      ['a numeric searchAfter', { searchAfter: 5 }],
    ])('refuses %s with INVALID_PARAM under HTTP 400', async (_what, body) => {
      const res = await getDevices(body);
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('INVALID_PARAM');
      expect(res.json.message).toBe('Invalid parameter(s) provided');
    });
  });

  describe('upload and delete', () => {
    it.each([
      ['no deviceIds', { targetServices: ['KAI'] }],
      ['an empty deviceIds', { deviceIds: [], targetServices: ['KAI'] }],
      ['an unknown target service', { deviceIds: ['356938035643809'], targetServices: ['KME'] }],
      ['no targetServices', { deviceIds: ['356938035643809'] }],
    ])('refuses an upload with %s', async (_what, body) => {
      const res = await postJson<KdmsErrorResponse>(`${t.apiUrl}/devices/upload`, body, bearer(fullToken));
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('INVALID_PARAM');
    });

    it('answers an upload with 202, then delivers a signed KDMS_DEVICE_UPLOAD callback', async () => {
      const imeis = t.freshImeis(3);
      const accepted = await postJson<KdmsOperationAccepted>(
        `${t.apiUrl}/devices/upload`,
        { deviceIds: imeis, targetServices: ['KAI'] },
        bearer(fullToken),
      );
      expect(accepted.status).toBe(202);
      expect(accepted.json).toEqual({ uploadId: expect.any(String), status: 'IN_PROGRESS', deviceCount: 3 });
      const event = await verifiedCallback(accepted.json.uploadId);
      expect(event).toMatchObject({
        eventType: 'KDMS_DEVICE_UPLOAD',
        data: {
          uploadId: accepted.json.uploadId,
          status: 'COMPLETED',
          totalCount: 3,
          successCount: 3,
          failureCount: 0,
        },
      });
      expect(event.data.results.map((r) => r.deviceId).sort()).toEqual([...imeis].sort());
      const listed = await getDevices({ uploadId: accepted.json.uploadId });
      expect(listed.json.devices.map((d) => d.imei).sort()).toEqual([...imeis].sort());
    });

    it('reports each failed device with its KDMS error code', async () => {
      const [good] = t.freshImeis(1);
      const badCheckDigit = good!.slice(0, 14) + String((Number(good![14]) + 1) % 10);
      const accepted = await postJson<KdmsOperationAccepted>(
        `${t.apiUrl}/devices/upload`,
        { deviceIds: [good, t.foreignImei, badCheckDigit], targetServices: ['KAI'] },
        bearer(fullToken),
      );
      const event = await verifiedCallback(accepted.json.uploadId);
      expect(event.data).toMatchObject({ status: 'PARTIALLY_COMPLETED', successCount: 1, failureCount: 2 });
      expect(event.data.results).toEqual(
        expect.arrayContaining([
          { deviceId: good, status: 'SUCCESS' },
          expect.objectContaining({
            deviceId: t.foreignImei,
            status: 'FAILURE',
            errorCode: 'IMEI_EXIST_IN_DIFFERENT_ACCOUNT',
          }),
          expect.objectContaining({
            deviceId: badCheckDigit,
            status: 'FAILURE',
            errorCode: 'INVALID_DEVICE_ID',
          }),
        ]),
      );
    });

    it('deletes with 202 and a signed KDMS_DEVICE_DELETE callback; unknown devices fail with INVALID_DEVICE_ID', async () => {
      const imeis = t.freshImeis(2);
      const upload = await postJson<KdmsOperationAccepted>(
        `${t.apiUrl}/devices/upload`,
        { deviceIds: imeis, targetServices: ['KAI'] },
        bearer(fullToken),
      );
      await verifiedCallback(upload.json.uploadId);
      const [unknown] = t.freshImeis(1);
      const accepted = await postJson<KdmsOperationAccepted>(
        `${t.apiUrl}/devices/delete`,
        { deviceIds: [...imeis, unknown], targetServices: ['KAI'] },
        bearer(fullToken),
      );
      expect(accepted.status).toBe(202);
      const event = await verifiedCallback(accepted.json.uploadId);
      expect(event).toMatchObject({
        eventType: 'KDMS_DEVICE_DELETE',
        data: { status: 'PARTIALLY_COMPLETED', successCount: 2, failureCount: 1 },
      });
      expect(event.data.results.find((r) => r.deviceId === unknown)).toMatchObject({
        errorCode: 'INVALID_DEVICE_ID',
        errorMessage: `Couldn't find device with ID: (${unknown})`,
      });
      expect((await getDevices({ deviceIds: imeis })).json.devices).toEqual([]);
    });
  });

  describe('Knox Webhook Notification subscriptions', () => {
    const url = (id = '') => `${t.kwnUrl}/kwn/v1/subscriptions${id ? `/${id}` : ''}`;

    it('lists and reads the subscription', async () => {
      const list = await request<KwnSubscriptionList>('GET', url(), undefined, bearer(fullToken));
      expect(list.json.subscriptions.map((s) => s.subscriptionId)).toContain(subscriptionId);
      const one = await request<KwnSubscription>('GET', url(subscriptionId), undefined, bearer(fullToken));
      expect(one.json).toMatchObject({
        callbackUrl: receiver.url,
        events: ['KDMS_DEVICE_UPLOAD', 'KDMS_DEVICE_DELETE'],
      });
    });

    it('allows one subscription per event', async () => {
      const res = await subscribe({
        callbackUrl: 'https://elsewhere.example/hook',
        events: ['KDMS_DEVICE_DELETE'],
      });
      expect(res.status).toBe(400);
      expect(res.json.message).toMatch(/Validation error/);
    });

    it('updates, deletes and recreates a subscription', async () => {
      const updated = await request<KwnSubscription>(
        'PUT',
        url(subscriptionId),
        { callbackUrl: receiver.url, events: ['KDMS_DEVICE_UPLOAD'] },
        bearer(fullToken),
      );
      expect(updated.status).toBe(200);
      expect(updated.json.events).toEqual(['KDMS_DEVICE_UPLOAD']);
      const deleteOnly = await subscribe({ callbackUrl: receiver.url, events: ['KDMS_DEVICE_DELETE'] });
      expect(deleteOnly.status).toBe(201);
      expect(
        (await request('DELETE', url(deleteOnly.json.subscriptionId), undefined, bearer(fullToken))).status,
      ).toBe(204);
      expect(
        (await request('GET', url(deleteOnly.json.subscriptionId), undefined, bearer(fullToken))).status,
      ).toBe(404);
      const restored = await request<KwnSubscription>(
        'PUT',
        url(subscriptionId),
        { callbackUrl: receiver.url, events: ['KDMS_DEVICE_UPLOAD', 'KDMS_DEVICE_DELETE'] },
        bearer(fullToken),
      );
      expect(restored.json.events).toEqual(['KDMS_DEVICE_UPLOAD', 'KDMS_DEVICE_DELETE']);
    });

    it.each([
      ['a callback that is not a URL', { callbackUrl: 'not a url', events: ['KDMS_DEVICE_UPLOAD'] }],
      ['no events', { callbackUrl: 'https://a.example/hook', events: [] }],
      ['an unknown event', { callbackUrl: 'https://a.example/hook', events: ['KDMS_DEVICE_EXPLODE'] }],
    ])('refuses %s with 400', async (_what, body) => {
      expect((await subscribe(body)).status).toBe(400);
    });

    it('answers 404 for an unknown subscription and 401 without a token', async () => {
      expect((await request('GET', url('no-such-id'), undefined, bearer(fullToken))).status).toBe(404);
      expect((await request('GET', url())).status).toBe(401);
    });
  });
}
