import { SHAPE_VARIANTS } from '../../../src/emulators/core/shape-variants.js';
import type { ShapeVariant } from '../../../src/emulators/core/shape-variants.js';
import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { toRegistrationPage } from '../../../src/upstreams/kdms/kdms.mapper.js';
import {
  KdmsErrorResponse,
  KdmsGetDevicesResponse,
  KnoxTokenResponse,
  KwnErrorResponse,
  KwnSubscription,
  KwnSubscriptionList,
} from '../../../src/upstreams/kdms/kdms.wire.js';
import { kdmsContract } from '../../contract/kdms.contract.js';
import { kdmsTarget, startTestEmulators } from '../../helpers/emulator-targets.js';
import { bearer, postForm, postJson, request } from '../../helpers/http.js';

// 2,500 devices: enough for several 1,000-row pages where an API pages that way.
let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 2500, seed: 'contract' } });
});
afterAll(() => emulators.stop());

describe('kdms emulator speaks the kdms contract', () => {
  kdmsContract(() => kdmsTarget(emulators));
});

/** What the emulator adds to the contract: its canonical shape, its 400 details, its variants, its document. */
describe('kdms emulator beyond the contract', () => {
  let token: string;
  const url = (path: string) => `${emulators.urls.kdms}${path}`;
  const getDevices = (body: unknown) => postJson(url('/kdms/v1/devices/getDevices'), body, bearer(token));

  beforeAll(async () => {
    const answer = await postForm(url('/ams/v1/oauth2/token'), {
      grant_type: 'client_credentials',
      client_id: DEV_CREDENTIALS.kdms.clientId,
      client_secret: DEV_CREDENTIALS.kdms.clientSecret,
    });
    token = KnoxTokenResponse.parse(answer.json).access_token;
  });
  afterEach(() => emulators.kdms.http.clearFaults());

  it('answers the canonical assumed shape: every device carries every field, with a total and a cursor', async () => {
    // Seeded devices only: devices the contract suite uploaded by IMEI have no serial number or model.
    const seeded = emulators.fleet.devices.filter((d) => d.kdms).slice(0, 50);
    const { json } = await getDevices({
      deviceIds: seeded.map((d) => d.imei ?? d.serialNumber),
      pageSize: 40,
    });
    expect(json).toEqual({
      devices: expect.any(Array),
      totalCount: expect.any(Number),
      nextSearchAfter: expect.any(String),
    });
    expect((json as { totalCount: number }).totalCount).toBe(seeded.length);
    const textOrNull = (value: unknown) => value === null || typeof value === 'string';
    for (const device of (json as { devices: Array<Record<string, unknown>> }).devices) {
      expect(device).toMatchObject({
        deviceId: expect.any(String),
        customerId: emulators.fleet.customerId,
        serialNumber: expect.any(String),
        modelName: expect.any(String),
        uploadId: expect.any(String),
        targetServices: ['KAI'],
        uploadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      // Attributes a device may lack are sent as null, never left out.
      expect(Object.keys(device)).toHaveLength(10);
      expect([device.imei, device.secondaryImei, device.meid].every(textOrNull)).toBe(true);
    }
  });

  it('names the JSON path of every problem in a refused request', async () => {
    const page = await getDevices({ pageSize: 0, searchAfter: 5, deviceIds: ['a', 7] });
    expect(page.status).toBe(400);
    const details = KdmsErrorResponse.parse(page.json).details;
    expect(details).toEqual([
      expect.stringMatching(/^deviceIds\[1\]: .*expected string/),
      expect.stringMatching(/^searchAfter: .*expected string/),
      expect.stringMatching(/^pageSize: .*>=1/),
    ]);
    const upload = await postJson(
      url('/kdms/v1/devices/upload'),
      { deviceIds: ['356938035643809'], targetServices: ['KAI', 'KME'] },
      bearer(token),
    );
    expect(upload.status).toBe(400);
    expect(KdmsErrorResponse.parse(upload.json)).toMatchObject({
      code: 'INVALID_PARAM',
      details: [expect.stringMatching(/^targetServices\[1\]: /)],
    });
    const empty = await postJson(url('/kdms/v1/devices/upload'), undefined, bearer(token));
    expect(KdmsErrorResponse.parse(empty.json).details).toEqual([expect.stringMatching(/^\(the body\): /)]);
    const subscription = await postJson(
      url('/kwn/v1/subscriptions'),
      { callbackUrl: 'ftp://example.test/hook', events: ['KDMS_DEVICE_UPLOAD', 'KAI_BATTERY_STATUS'] },
      bearer(token),
    );
    expect(subscription.status).toBe(400);
    expect(KwnErrorResponse.parse(subscription.json).message).toMatch(/^Validation error: callbackUrl: /);
    const unknownEvent = await postJson(
      url('/kwn/v1/subscriptions'),
      { callbackUrl: 'https://example.test/hook', events: ['KDMS_DEVICE_UPLOAD', 'KAI_BATTERY_STATUS'] },
      bearer(token),
    );
    expect(KwnErrorResponse.parse(unknownEvent.json).message).toMatch(/^Validation error: events\[1\]: /);
  });

  /** Every device id of the fleet, paged the way KdmsClient pages. */
  async function readAllDeviceIds(): Promise<string[]> {
    const ids: string[] = [];
    let searchAfter: string | null = null;
    do {
      const res = await getDevices({ pageSize: 1000, ...(searchAfter ? { searchAfter } : {}) });
      expect(res.status).toBe(200);
      const page = toRegistrationPage(KdmsGetDevicesResponse.parse(res.json), 1000);
      ids.push(...page.registrations.map((r) => r.deviceId));
      searchAfter = page.nextSearchAfter;
    } while (searchAfter);
    return ids;
  }

  const readable = SHAPE_VARIANTS.filter(
    (kind): kind is Exclude<ShapeVariant, 'htmlError'> => kind !== 'htmlError',
  );

  it.each(readable)('answers with %s that the schema reads as the same fleet', async (kind) => {
    const canonical = await readAllDeviceIds();
    emulators.kdms.http.setFaults({ shapeVariants: [kind] });
    expect(await readAllDeviceIds()).toEqual(canonical);
    const answer = await postForm(url('/ams/v1/oauth2/token'), {
      grant_type: 'client_credentials',
      client_id: DEV_CREDENTIALS.kdms.clientId,
      client_secret: DEV_CREDENTIALS.kdms.clientSecret,
    });
    expect(KnoxTokenResponse.parse(answer.json)).toMatchObject({ access_token: expect.any(String) });
  });

  it('spells dates, IMEIs, target services and the cursor differently under altSpellings, read the same', async () => {
    const plain = KdmsGetDevicesResponse.parse((await getDevices({ pageSize: 200 })).json);
    emulators.kdms.http.setFaults({ shapeVariants: ['altSpellings'] });
    const res = await getDevices({ pageSize: 200 });
    const raw = res.json as { devices: Array<Record<string, unknown>>; nextSearchAfter?: unknown };
    expect(raw.devices.some((d) => typeof d.uploadedAt !== 'string')).toBe(true);
    expect(raw.devices.some((d) => typeof d.imei === 'number')).toBe(true);
    expect(raw.devices.every((d) => d.targetServices === 'KAI')).toBe(true);
    expect('nextSearchAfter' in raw).toBe(false);
    const varied = KdmsGetDevicesResponse.parse(raw);
    expect(varied.devices).toEqual(plain.devices);
    expect(varied.nextSearchAfter).toBeNull();
    // Subscriptions' times too.
    const created = await postJson(
      url('/kwn/v1/subscriptions'),
      { callbackUrl: 'https://example.test/variants', events: ['KDMS_DEVICE_DELETE'] },
      bearer(token),
    );
    const id = KwnSubscription.parse(created.json).subscriptionId;
    try {
      const one = await request('GET', url(`/kwn/v1/subscriptions/${id}`), undefined, bearer(token));
      expect((one.json as { createdAt: unknown }).createdAt).not.toEqual(
        (created.json as { createdAt: unknown }).createdAt,
      );
      expect(KwnSubscription.parse(one.json)).toEqual(KwnSubscription.parse(created.json));
      const list = await request('GET', url('/kwn/v1/subscriptions'), undefined, bearer(token));
      expect(KwnSubscriptionList.parse(list.json).subscriptions.map((s) => s.subscriptionId)).toContain(id);
    } finally {
      await request('DELETE', url(`/kwn/v1/subscriptions/${id}`), undefined, bearer(token));
    }
  });

  it('documents the assumed contract in /openapi.json, built from the wire schemas', async () => {
    const { json } = await request<{ components: { schemas: Record<string, Record<string, unknown>> } }>(
      'GET',
      url('/openapi.json'),
    );
    const schemas = json.components.schemas;
    expect(schemas.KdmsDevice).toMatchObject({
      required: ['deviceId'],
      anyOf: [{ required: ['imei'] }, { required: ['serialNumber'] }],
      properties: { uploadedAt: { type: 'string', format: 'date-time' } },
    });
    expect(schemas.KdmsGetDevicesResponse).toMatchObject({ required: ['devices'] });
    expect(schemas.KdmsOperationAccepted).toMatchObject({ required: ['uploadId'] });
    expect(schemas.KwnKdmsEventNotification).toMatchObject({ required: ['eventId', 'data'] });
    expect(schemas.KdmsDeviceOperationRequest).toMatchObject({ required: ['deviceIds', 'targetServices'] });
  });
});
