import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import {
  DEVICE_IN_ALL_THREE,
  DEVICE_NOT_IN_KDMS,
  SEED_STUB_CUSTOMER_ID,
  SEED_STUB_USERS,
  startSeedStubUpstreams,
  withLuhnCheckDigit,
} from '../../stubs/seed-stub-upstreams.js';
import type { SeedStubUpstreams, StubDevice } from '../../stubs/seed-stub-upstreams.js';

/**
 * Fleetgraph pointed at stub upstreams written from the public texts alone (test/stubs), configured
 * as an operator configures real APIs. The stubs import nothing from src/ on purpose: Fleetgraph's
 * emulators and clients share one reading of the docs, so they cannot catch a misreading; an
 * independent reading (KDMS devices with only the attributes the tutorial names, Knox Manage with
 * the published spec's spellings, Box exactly as chapter 6 shows it) can.
 */
let stubs: SeedStubUpstreams;
let graph: TestGraph;

beforeAll(async () => {
  stubs = await startSeedStubUpstreams();
  graph = await startTestGraph({
    env: {
      KDMS_URL: stubs.kdmsUrl,
      KDMS_TOKEN_URL: stubs.kdmsTokenUrl,
      KDMS_CLIENT_ID: stubs.credentials.kdms.clientId,
      KDMS_CLIENT_SECRET: stubs.credentials.kdms.clientSecret,
      KNOX_MANAGE_URL: stubs.knoxManageUrl,
      KNOX_MANAGE_CLIENT_ID: stubs.credentials.knoxManage.clientId,
      KNOX_MANAGE_CLIENT_SECRET: stubs.credentials.knoxManage.clientSecret,
      BOX_URL: stubs.boxUrl,
      BOX_API_KEY: stubs.credentials.box.apiKey,
      // Required with real upstreams; the stubs never call back, so nothing listens there.
      WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
    },
  });
});
afterAll(async () => {
  await graph?.stop();
  await stubs?.stop();
});
beforeEach(() => stubs.resetCalls());

const DEVICE = `query ($imei: String) { device(imei: $imei) {
  id imei serialNumber model sources
  registration { deviceId customerId }
  management { deviceId mobileId status platform platformCode ownership ownershipCode }
  access { guid cuid name loginBlocked purgeAppDataOnNextLogin }
} }`;

/** API calls (token requests excluded) each stub served, told apart by their documented path prefixes. */
function apiCalls(): { kdms: number; knoxManage: number; box: number } {
  const sum = (prefix: string) =>
    Object.entries(stubs.calls())
      .filter(([key]) => key.split(' ')[1]!.startsWith(prefix))
      .reduce((total, [, n]) => total + n, 0);
  return { kdms: sum('/kdms/v1/'), knoxManage: sum('/emm/oapi/'), box: sum('/box/srv/1.1/admin/') };
}

/** The APIs that served no call; the name in a failure says which one Fleetgraph skipped. */
const uncalledApis = (): string[] =>
  Object.entries(apiCalls())
    .filter(([, n]) => n === 0)
    .map(([api]) => api);

// The stubs send the published codes (platform "A", ownerShip "C"); the graph reads them into words.
const management = (d: StubDevice) => ({
  deviceId: d.knoxManage!.deviceId,
  mobileId: d.knoxManage!.mobileId,
  status: 'ACTIVATED',
  platform: 'ANDROID',
  platformCode: 'A',
  ownership: 'COMPANY_OWNED',
  ownershipCode: 'C',
});
const access = (d: StubDevice) => ({
  guid: d.box!.guid,
  cuid: d.imei,
  name: d.box!.name,
  loginBlocked: d.box!.disabled,
  purgeAppDataOnNextLogin: d.box!.blacklisted,
});

describe('Fleetgraph against stub upstreams written from the seed texts', () => {
  it('uses a valid IMEI for the shared device', () => {
    expect(DEVICE_IN_ALL_THREE.imei).toMatch(/^\d{15}$/);
    expect(withLuhnCheckDigit(DEVICE_IN_ALL_THREE.imei.slice(0, 14))).toBe(DEVICE_IN_ALL_THREE.imei);
    expect(withLuhnCheckDigit('49015420323751')).toBe('490154203237518'); // a published example IMEI
  });

  it('answers device(imei) with data from all three APIs', async () => {
    const d = DEVICE_IN_ALL_THREE;
    const { status, body } = await graph.post(DEVICE, { imei: d.imei });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.device).toEqual({
      id: expect.any(String),
      imei: d.imei,
      serialNumber: d.serialNumber,
      model: d.model,
      sources: ['KDMS', 'KNOX_MANAGE', 'BOX'],
      registration: { deviceId: d.kdms!.deviceId, customerId: SEED_STUB_CUSTOMER_ID },
      management: management(d),
      access: access(d),
    });
    // The data came from the stubs themselves; they refuse calls without a token they issued.
    expect(uncalledApis()).toEqual([]);
  });

  it('answers a device KDMS does not hold with Knox Manage and Box data, registration null', async () => {
    const d = DEVICE_NOT_IN_KDMS;
    const { status, body } = await graph.post(DEVICE, { imei: d.imei });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.device).toEqual({
      id: expect.any(String),
      imei: d.imei,
      serialNumber: d.serialNumber,
      model: d.model,
      sources: ['KNOX_MANAGE', 'BOX'],
      registration: null,
      management: management(d),
      access: access(d),
    });
    // KDMS was asked, and its empty answer is what makes registration null.
    expect(uncalledApis()).toEqual([]);
  });

  // Knox Manage users are GET reads with query parameters in the spec; the owner goes through them.
  it("names the device's Knox Manage owner", async () => {
    const d = DEVICE_NOT_IN_KDMS;
    const owner = SEED_STUB_USERS.find((u) => u.userId === d.knoxManage!.userId)!;
    const { status, body } = await graph.post(
      `query ($imei: String) { device(imei: $imei) { management { owner { userId name email } } } }`,
      { imei: d.imei },
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.device).toEqual({
      management: { owner: { userId: owner.userId, name: owner.userName, email: owner.email } },
    });
  });

  // The fleet listing reads Knox Manage's selectDeviceList, whose rows the spec puts in `devicelist`.
  it('lists both devices, each joined across the APIs that hold it', async () => {
    const { status, body } = await graph.post(`{ devices(first: 10) { edges { node {
      imei registration { deviceId } management { deviceId } access { guid }
    } } } }`);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const edges = (body.data?.devices as { edges: Array<{ node: { imei: string } }> }).edges;
    expect(edges.map((e) => e.node).sort((a, b) => a.imei.localeCompare(b.imei))).toEqual(
      [DEVICE_IN_ALL_THREE, DEVICE_NOT_IN_KDMS]
        .map((d) => ({
          imei: d.imei,
          registration: d.kdms ? { deviceId: d.kdms.deviceId } : null,
          management: { deviceId: d.knoxManage!.deviceId },
          access: { guid: d.box!.guid },
        }))
        .sort((a, b) => a.imei.localeCompare(b.imei)),
    );
  });
});
