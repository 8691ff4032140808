import { compactVerify, importX509 } from 'jose';
import type { z } from 'zod';
import { toRegistrationPage } from '../../src/upstreams/kdms/kdms.mapper.js';
import {
  KDMS_DEFAULT_PAGE_SIZE,
  KWN_SIGNATURE_HEADER,
  KdmsErrorResponse,
  KdmsGetDevicesResponse,
  KdmsOperationAccepted,
  KnoxOAuthError,
  KnoxTokenResponse,
  KwnErrorResponse,
  KwnKdmsEventNotification,
  KwnSubscription,
  KwnSubscriptionList,
} from '../../src/upstreams/kdms/kdms.wire.js';
import { bearer, postForm, postJson, request } from '../helpers/http.js';
import type { HttpAnswer } from '../helpers/http.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import type { WebhookReceiver } from '../helpers/webhook-receiver.js';

/** An answer read the way KdmsClient reads it: through its schema, which throws when it does not fit. */
const read = <S extends z.ZodType>(schema: S, answer: HttpAnswer): z.output<S> => schema.parse(answer.json);

/**
 * The KDMS contract, written once (in the manner of keyv's shared adapter suites) and run against any
 * target that claims to speak it: the emulator in `npm test`, a real tenant when pointed at one.
 * It only uses documented (or wire-module) behaviour, never emulator internals, and reads every answer
 * through the schema KdmsClient reads it with, so the target cannot drift from what Fleetgraph reads.
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
    const res = await postForm(t.tokenUrl, fields);
    expect(res.status).toBe(200);
    return read(KnoxTokenResponse, res).access_token;
  };
  const getDevices = (body: unknown, accessToken = fullToken) =>
    postJson(`${t.apiUrl}/devices/getDevices`, body, bearer(accessToken));
  /** One page as KdmsClient reads it; the next `searchAfter` follows the client's paging rule. */
  const devicePage = async (body: { pageSize?: number } & Record<string, unknown>) => {
    const res = await getDevices(body);
    expect(res.status).toBe(200);
    const page = read(KdmsGetDevicesResponse, res);
    return {
      ...page,
      next: toRegistrationPage(page, body.pageSize ?? KDMS_DEFAULT_PAGE_SIZE).nextSearchAfter,
    };
  };
  const upload = async (op: 'upload' | 'delete', deviceIds: unknown[]) => {
    const res = await postJson(
      `${t.apiUrl}/devices/${op}`,
      { deviceIds, targetServices: ['KAI'] },
      bearer(fullToken),
    );
    expect(res.status).toBe(202);
    return read(KdmsOperationAccepted, res);
  };
  const subscribe = (body: unknown) => postJson(`${t.kwnUrl}/kwn/v1/subscriptions`, body, bearer(fullToken));

  /** Waits for the callback of one operation and returns it verified against the served certificate. */
  const verifiedCallback = async (uploadId: string): Promise<KwnKdmsEventNotification> => {
    const certificate = await request(`GET`, `${t.kwnUrl}/downloadCertificate`);
    const key = await importX509(certificate.text, 'RS256');
    for (let seen = 1; ; seen++) {
      const all = await receiver.waitFor(seen);
      const callback = all[seen - 1]!;
      const body = KwnKdmsEventNotification.parse(JSON.parse(callback.body.toString('utf8')));
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
    subscriptionId = read(KwnSubscription, created).subscriptionId;
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
      const res = await postForm(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
      });
      expect(res.status).toBe(200);
      expect(read(KnoxTokenResponse, res)).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 600,
        scope: expect.stringContaining('kdms.devices'),
      });
    });

    it('honours a requested scope and an expires_in up to 60 minutes', async () => {
      const res = await postForm(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        scope: 'kdms.devices:read',
        expires_in: 3600,
      });
      expect(read(KnoxTokenResponse, res)).toMatchObject({ scope: 'kdms.devices:read', expires_in: 3600 });
      const tooLong = await postForm(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        expires_in: 3601,
      });
      expect(tooLong.status).toBe(400);
      expect(read(KnoxOAuthError, tooLong).error).toBe('invalid_request');
    });

    it.each([
      ['a wrong secret', { client_secret: 'wrong' }, 401, 'invalid_client'],
      ['an unknown client', { client_id: 'nobody' }, 401, 'invalid_client'],
      ['another grant type', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
      ['a scope it was not granted', { scope: 'kai.devices' }, 400, 'invalid_scope'],
    ])('refuses %s', async (_what, override, status, error) => {
      const res = await postForm(t.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        ...override,
      });
      expect(res.status).toBe(status);
      expect(read(KnoxOAuthError, res).error).toBe(error);
    });
  });

  describe('bearer tokens and scopes', () => {
    it('answers 401 without a token and with an unknown one', async () => {
      const none = await postJson(`${t.apiUrl}/devices/getDevices`, {});
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const bad = await getDevices({}, 'not-a-token');
      expect(bad.status).toBe(401);
      expect(read(KdmsErrorResponse, bad).code).toBe('UNAUTHORIZED');
    });

    it('lets a read-only token read, and answers 403 to its upload and delete', async () => {
      expect((await getDevices({ pageSize: 1 }, readToken)).status).toBe(200);
      for (const op of ['upload', 'delete']) {
        const res = await postJson(
          `${t.apiUrl}/devices/${op}`,
          { deviceIds: t.freshImeis(1), targetServices: ['KAI'] },
          bearer(readToken),
        );
        expect(res.status).toBe(403);
        expect(read(KdmsErrorResponse, res).code).toBe('FORBIDDEN');
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
      let searchAfter: string | null = null;
      let pages = 0;
      let totalCount: number | null = null;
      do {
        const page = await devicePage({ pageSize: 100, ...(searchAfter ? { searchAfter } : {}) });
        totalCount = page.totalCount;
        seen.push(...page.devices.map((d) => d.imei ?? d.serialNumber ?? d.deviceId));
        searchAfter = page.next;
        pages += 1;
      } while (searchAfter);
      // Every full page is followed by another (the client's paging rule, kdms.mapper.ts); a short one ends it.
      expect(pages).toBe(Math.floor(t.expectedDeviceKeys.length / 100) + 1);
      expect(new Set(seen).size).toBe(seen.length);
      // totalCount is assumed, so optional; when it is there it counts every matching device.
      if (totalCount !== null) expect(totalCount).toBe(t.expectedDeviceKeys.length);
      expect([...seen].sort()).toEqual([...t.expectedDeviceKeys].sort());
    });

    it('filters by IMEI, secondary IMEI and serial number, and ignores unknown ids', async () => {
      const d = t.knownDevice;
      for (const id of [d.imei, d.serialNumber, ...(d.secondaryImei ? [d.secondaryImei] : [])]) {
        const page = await devicePage({ deviceIds: [id, t.freshImeis(1)[0]] });
        expect(page.devices).toHaveLength(1);
        expect(page.devices[0]).toMatchObject({ imei: d.imei, serialNumber: d.serialNumber });
        expect(page.next).toBeNull();
      }
    });

    it('filters by uploadId', async () => {
      const first = await devicePage({ deviceIds: [t.knownDevice.imei] });
      const uploadId = first.devices[0]!.uploadId;
      expect(uploadId).toEqual(expect.any(String));
      const page = await devicePage({ uploadId, pageSize: 1000 });
      expect(page.devices.length).toBeGreaterThan(0);
      expect(page.devices.every((d) => d.uploadId === uploadId)).toBe(true);
      if (page.totalCount !== null) expect(page.totalCount).toBe(page.devices.length);
    });

    it.each([
      ['pageSize 0', { pageSize: 0 }],
      ['pageSize above the limit', { pageSize: 5000 }],
      ['deviceIds that are not a list', { deviceIds: 'abc' }],
      ['a numeric searchAfter', { searchAfter: 5 }],
    ])('refuses %s with INVALID_PARAM under HTTP 400', async (_what, body) => {
      const res = await getDevices(body);
      expect(res.status).toBe(400);
      expect(read(KdmsErrorResponse, res)).toMatchObject({
        code: 'INVALID_PARAM',
        message: 'Invalid parameter(s) provided',
      });
    });
  });

  describe('upload and delete', () => {
    it.each([
      ['no deviceIds', { targetServices: ['KAI'] }],
      ['an empty deviceIds', { deviceIds: [], targetServices: ['KAI'] }],
      ['an unknown target service', { deviceIds: ['356938035643809'], targetServices: ['KME'] }],
      ['no targetServices', { deviceIds: ['356938035643809'] }],
    ])('refuses an upload with %s', async (_what, body) => {
      const res = await postJson(`${t.apiUrl}/devices/upload`, body, bearer(fullToken));
      expect(res.status).toBe(400);
      expect(read(KdmsErrorResponse, res).code).toBe('INVALID_PARAM');
    });

    it('answers an upload with 202, then delivers a signed KDMS_DEVICE_UPLOAD callback', async () => {
      const imeis = t.freshImeis(3);
      const accepted = await upload('upload', imeis);
      expect(accepted).toEqual({ uploadId: expect.any(String), status: 'IN_PROGRESS', deviceCount: 3 });
      const event = await verifiedCallback(accepted.uploadId);
      expect(event).toMatchObject({
        eventType: 'KDMS_DEVICE_UPLOAD',
        data: {
          uploadId: accepted.uploadId,
          status: 'COMPLETED',
          totalCount: 3,
          successCount: 3,
          failureCount: 0,
        },
      });
      expect(event.data.results.map((r) => r.deviceId).sort()).toEqual([...imeis].sort());
      const listed = await devicePage({ uploadId: accepted.uploadId });
      expect(listed.devices.map((d) => d.imei).sort()).toEqual([...imeis].sort());
    });

    it('reports each failed device with its KDMS error code', async () => {
      const [good] = t.freshImeis(1);
      const badCheckDigit = good!.slice(0, 14) + String((Number(good![14]) + 1) % 10);
      const accepted = await upload('upload', [good, t.foreignImei, badCheckDigit]);
      const event = await verifiedCallback(accepted.uploadId);
      expect(event.data).toMatchObject({ status: 'PARTIALLY_COMPLETED', successCount: 1, failureCount: 2 });
      expect(event.data.results).toEqual(
        expect.arrayContaining([
          { deviceId: good, status: 'SUCCESS', errorCode: null, errorMessage: null },
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
      await verifiedCallback((await upload('upload', imeis)).uploadId);
      const [unknown] = t.freshImeis(1);
      const accepted = await upload('delete', [...imeis, unknown]);
      const event = await verifiedCallback(accepted.uploadId);
      expect(event).toMatchObject({
        eventType: 'KDMS_DEVICE_DELETE',
        data: { status: 'PARTIALLY_COMPLETED', successCount: 2, failureCount: 1 },
      });
      expect(event.data.results.find((r) => r.deviceId === unknown)).toMatchObject({
        errorCode: 'INVALID_DEVICE_ID',
        errorMessage: `Couldn't find device with ID: (${unknown})`,
      });
      expect((await devicePage({ deviceIds: imeis })).devices).toEqual([]);
    });
  });

  describe('Knox Webhook Notification subscriptions', () => {
    const url = (id = '') => `${t.kwnUrl}/kwn/v1/subscriptions${id ? `/${id}` : ''}`;

    it('lists and reads the subscription', async () => {
      const list = read(KwnSubscriptionList, await request('GET', url(), undefined, bearer(fullToken)));
      expect(list.subscriptions.map((s) => s.subscriptionId)).toContain(subscriptionId);
      const one = read(
        KwnSubscription,
        await request('GET', url(subscriptionId), undefined, bearer(fullToken)),
      );
      expect(one).toMatchObject({
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
      expect(read(KwnErrorResponse, res).message).toMatch(/Validation error/);
    });

    it('updates, deletes and recreates a subscription', async () => {
      const updated = await request(
        'PUT',
        url(subscriptionId),
        { callbackUrl: receiver.url, events: ['KDMS_DEVICE_UPLOAD'] },
        bearer(fullToken),
      );
      expect(updated.status).toBe(200);
      expect(read(KwnSubscription, updated).events).toEqual(['KDMS_DEVICE_UPLOAD']);
      const deleteOnly = await subscribe({ callbackUrl: receiver.url, events: ['KDMS_DEVICE_DELETE'] });
      expect(deleteOnly.status).toBe(201);
      const deleteOnlyId = read(KwnSubscription, deleteOnly).subscriptionId;
      expect((await request('DELETE', url(deleteOnlyId), undefined, bearer(fullToken))).status).toBe(204);
      expect((await request('GET', url(deleteOnlyId), undefined, bearer(fullToken))).status).toBe(404);
      const restored = await request(
        'PUT',
        url(subscriptionId),
        { callbackUrl: receiver.url, events: ['KDMS_DEVICE_UPLOAD', 'KDMS_DEVICE_DELETE'] },
        bearer(fullToken),
      );
      expect(read(KwnSubscription, restored).events).toEqual(['KDMS_DEVICE_UPLOAD', 'KDMS_DEVICE_DELETE']);
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
