import type { SeededDevice, SeededFleet } from '../../../src/emulators/fleet/seeded-fleet.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';

/**
 * Issue 12, item 8: one API failing must never blank what the others answered. Each test makes one
 * upstream endpoint fail (the emulators' fault injection), asks the graph over HTTP, and checks that the
 * failing API's fields carry its UPSTREAM_* error on their own paths while everything else is data.
 * Retries are off and the breaker never opens, so every failing call is counted exactly once.
 */
let graph: TestGraph;
let emulators: RunningEmulators;
let fleet: SeededFleet;
beforeAll(async () => {
  graph = await startTestGraph({ env: { UPSTREAM_RETRIES: '0', BREAKER_VOLUME: '100000' } });
  emulators = graph.emulators;
  fleet = emulators.fleet;
});
afterAll(() => graph.stop());
beforeEach(() => graph.resetCalls());
afterEach(() => {
  emulators.kdms.http.clearFaults();
  emulators.knoxManage.http.clearFaults();
  emulators.box.http.clearFaults();
});

const GET_DEVICES = '/kdms/v1/devices/getDevices';
const SELECT_DEVICE_LIST = '/emm/oapi/device/selectDeviceList';
const down = { errorRate: 1, errorStatus: 503 } as const;

type Membership = [kdms: boolean, knoxManage: boolean, box: boolean];
const withMembership = ([k, m, b]: Membership): SeededDevice =>
  fleet.devices.find(
    (d) => Boolean(d.kdms) === k && Boolean(d.knoxManage) === m && Boolean(d.box) === b && d.imei,
  )!;

const DEVICE = `query ($imei: String) { device(imei: $imei) {
  id imei serialNumber model
  registration { deviceId }
  management { deviceId owner { userId } }
  access { guid }
  apps { name }
  users { userId }
  sources
} }`;

/** `path → [code, upstream]` of every error, for exact comparison. */
const errorsByPath = (body: GraphQLBody) =>
  Object.fromEntries(
    (body.errors ?? []).map((e) => [
      e.path?.join('.') ?? '(none)',
      [e.extensions?.code, e.extensions?.upstream, e.extensions?.upstreamStatus],
    ]),
  );

describe('item 8: one API failing blanks the others', () => {
  it('KDMS getDevices down: device(imei) keeps the Knox Manage and Box records, the KDMS error on its own fields', async () => {
    const seeded = withMembership([true, true, true]);
    emulators.kdms.http.setFaults({ ...down, paths: [GET_DEVICES] });
    const { status, body } = await graph.post(DEVICE, { imei: seeded.imei });
    expect(status).toBe(200);
    expect(body.data?.device).toEqual({
      id: expect.any(String),
      imei: seeded.imei,
      serialNumber: seeded.serialNumber,
      // KDMS could not say; Knox Manage answered with the same model.
      model: seeded.model,
      registration: null,
      management: {
        deviceId: seeded.knoxManage!.deviceId,
        owner: { userId: seeded.knoxManage!.ownerUserId },
      },
      access: { guid: seeded.box!.guid },
      apps: expect.any(Array),
      users: expect.any(Array),
      // Whether KDMS knows the device is unknown: no list at all rather than an incomplete one.
      sources: null,
    });
    expect(errorsByPath(body)).toEqual({
      'device.registration': ['UPSTREAM_UNAVAILABLE', 'KDMS', 503],
      'device.sources': ['UPSTREAM_UNAVAILABLE', 'KDMS', 503],
    });
    // KDMS was asked once; the failure is remembered for the rest of the request. Knox Manage and Box
    // cost what they cost with KDMS up: one device read each, plus Box's per-device apps and users.
    expect(graph.upstreamCallsByEndpoint().kdms).toEqual({ [`POST ${GET_DEVICES}`]: 1 });
    expect(graph.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 1, box: 3 });
  });

  it('KDMS getDevices down: a device only Box holds is still found, and one Knox Manage holds by its serial number', async () => {
    const seeded = fleet.devices.find((d) => !d.kdms && !d.knoxManage && d.box && d.imei)!;
    emulators.kdms.http.setFaults({ ...down, paths: [GET_DEVICES] });
    const { body } = await graph.post(
      'query ($imei: String) { device(imei: $imei) { imei registration { deviceId } management { deviceId } access { guid } } }',
      { imei: seeded.imei },
    );
    expect(body.data?.device).toEqual({
      imei: seeded.imei,
      registration: null,
      management: null,
      access: { guid: seeded.box!.guid },
    });
    expect(errorsByPath(body)).toEqual({ 'device.registration': ['UPSTREAM_UNAVAILABLE', 'KDMS', 503] });
    expect(graph.upstreamCalls().kdms).toBe(1);
    // By serial number: Knox Manage finds it (Box keys this device by its IMEI).
    const managed = withMembership([true, true, false]);
    const bySerial = await graph.post(
      'query ($sn: String) { device(serialNumber: $sn) { imei registration { deviceId } management { deviceId } } }',
      { sn: managed.serialNumber },
    );
    expect(bySerial.body.data?.device).toEqual({
      imei: managed.imei,
      registration: null,
      management: { deviceId: managed.knoxManage!.deviceId },
    });
    expect(errorsByPath(bySerial.body)).toEqual({
      'device.registration': ['UPSTREAM_UNAVAILABLE', 'KDMS', 503],
    });
  });

  it('KDMS getDevices down: a device no answering API holds is null with the one KDMS error (existence unknown)', async () => {
    const seeded = withMembership([true, false, false]);
    emulators.kdms.http.setFaults({ ...down, paths: [GET_DEVICES] });
    const { body } = await graph.post(DEVICE, { imei: seeded.imei });
    expect(body.data).toEqual({ device: null });
    expect(errorsByPath(body)).toEqual({ device: ['UPSTREAM_UNAVAILABLE', 'KDMS', 503] });
    expect(body.errors![0]!.message).toContain('KDMS');
  });

  it('Knox Manage down: device(imei) keeps the KDMS and Box records, the Knox Manage error on its own fields', async () => {
    const seeded = withMembership([true, true, true]);
    emulators.knoxManage.http.setFaults(down);
    const { body } = await graph.post(DEVICE, { imei: seeded.imei });
    expect(body.data?.device).toMatchObject({
      imei: seeded.imei,
      model: seeded.model,
      registration: { deviceId: seeded.kdms!.deviceId },
      management: null,
      access: { guid: seeded.box!.guid },
      users: null,
      sources: null,
    });
    expect(errorsByPath(body)).toEqual({
      'device.management': ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503],
      'device.users': ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503],
      'device.sources': ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503],
    });
    // One Knox Manage read: its failure is not forgotten and asked again by the next field.
    expect(graph.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 1, box: 3 });
  });

  it('KDMS down: { users devices } answers users, and devices is null with the KDMS error', async () => {
    emulators.kdms.http.setFaults({ ...down, paths: [GET_DEVICES] });
    const { status, body } = await graph.post(
      '{ users(first: 3) { totalCount edges { node { userId } } } devices(first: 3) { edges { node { id } } } }',
    );
    expect(status).toBe(200);
    expect(body.data).toEqual({
      users: {
        totalCount: fleet.users.length,
        edges: fleet.users.slice(0, 3).map((u) => ({ node: { userId: u.userId } })),
      },
      devices: null,
    });
    expect(errorsByPath(body)).toEqual({ devices: ['UPSTREAM_UNAVAILABLE', 'KDMS', 503] });
    expect(graph.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 1, box: 0 });
  });

  it('Knox Manage down: { users devices } answers devices, and users is null with the Knox Manage error', async () => {
    emulators.knoxManage.http.setFaults(down);
    const { body } = await graph.post(
      '{ users(first: 3) { totalCount } devices(first: 3) { edges { node { imei } } } }',
    );
    expect(body.data?.users).toBeNull();
    expect((body.data?.devices as { edges: unknown[] }).edges).toHaveLength(3);
    expect(errorsByPath(body)).toEqual({ users: ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503] });
  });

  it("Knox Manage's device list down: user(userId) answers from its user read, devices carries the error", async () => {
    const owner = fleet.users.find((u) => fleet.devices.some((d) => d.knoxManage?.ownerUserId === u.userId))!;
    emulators.knoxManage.http.setFaults({ ...down, paths: [SELECT_DEVICE_LIST] });
    const { body } = await graph.post(
      'query ($u: ID!) { user(userId: $u) { userId name email devices(first: 5) { edges { node { imei } } } } }',
      { u: owner.userId },
    );
    expect(body.data?.user).toEqual({
      userId: owner.userId,
      name: owner.userName,
      email: owner.email,
      devices: null,
    });
    expect(errorsByPath(body)).toEqual({ 'user.devices': ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503] });
    // The device list once (failed), then the user read once: no call repeated for the other fields.
    expect(graph.upstreamCallsByEndpoint().knoxManage).toEqual({
      [`POST ${SELECT_DEVICE_LIST}`]: 1,
      'GET /emm/oapi/user/selectUsers': 1,
    });
  });

  it('Knox Manage down: user(userId) is the user asked for, each Knox Manage field with its error', async () => {
    const owner = fleet.users[0]!;
    emulators.knoxManage.http.setFaults(down);
    const { body } = await graph.post(
      'query ($u: ID!) { user(userId: $u) { userId name devices(first: 5) { edges { node { imei } } } } }',
      { u: owner.userId },
    );
    expect(body.data?.user).toEqual({ userId: owner.userId, name: null, devices: null });
    expect(errorsByPath(body)).toEqual({
      'user.name': ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503],
      'user.devices': ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503],
    });
    expect(graph.upstreamCalls()).toEqual({ kdms: 0, knoxManage: 2, box: 0 });
    // Asked for nothing Knox Manage holds, the answer cannot claim the user exists: the error is on `user`.
    const idOnly = await graph.post('query ($u: ID!) { user(userId: $u) { userId } }', { u: owner.userId });
    expect(idOnly.body.data).toEqual({ user: null });
    expect(errorsByPath(idOnly.body)).toEqual({ user: ['UPSTREAM_UNAVAILABLE', 'KNOX_MANAGE', 503] });
  });

  it('KDMS answering a broken body: the error is UPSTREAM_ERROR naming KDMS, never an internal error', async () => {
    const seeded = withMembership([true, true, true]);
    emulators.kdms.http.setFaults({ malformedJsonNext: 1, paths: [GET_DEVICES] });
    const { body } = await graph.post(DEVICE, { imei: seeded.imei });
    expect(body.data?.device).toMatchObject({
      imei: seeded.imei,
      management: { deviceId: seeded.knoxManage!.deviceId },
    });
    expect(errorsByPath(body)).toEqual({
      'device.registration': ['UPSTREAM_ERROR', 'KDMS', 200],
      'device.sources': ['UPSTREAM_ERROR', 'KDMS', 200],
    });
    expect(body.errors![0]!.message).toMatch(/malformed JSON/);
  });
});
