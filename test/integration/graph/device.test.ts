import { deviceIdOf } from '../../../src/domain/device-ref.js';
import type { SeededDevice, SeededFleet } from '../../../src/emulators/fleet/seeded-fleet.js';
import { SEEDED_USER_PASSWORD } from '../../../src/emulators/fleet/seeded-fleet.js';
import { request } from '../../helpers/http.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

/** One device at a time: joined data, partial results, writes, users and authentication. */
let graph: TestGraph;
let fleet: SeededFleet;
beforeAll(async () => {
  graph = await startTestGraph();
  fleet = graph.fleetgraph.emulators!.fleet;
});
afterAll(() => graph.stop());
beforeEach(() => graph.resetCalls());

type Membership = [kdms: boolean, knoxManage: boolean, box: boolean];
const withMembership = ([k, m, b]: Membership): SeededDevice =>
  fleet.devices.find(
    (d) => Boolean(d.kdms) === k && Boolean(d.knoxManage) === m && Boolean(d.box) === b && d.imei,
  )!;

const DETAIL = `query ($imei: String) { device(imei: $imei) {
  id imei serialNumber model sources
  registration { deviceId customerId }
  management { deviceId status owner { userId name } }
  access { guid name loginBlocked purgeAppDataOnNextLogin }
  apps { id name }
  users { userId email }
} }`;

describe('device(imei | serialNumber | id)', () => {
  it.each<[string, Membership, string[]]>([
    ['all three APIs', [true, true, true], ['KDMS', 'KNOX_MANAGE', 'BOX']],
    ['KDMS and Knox Manage', [true, true, false], ['KDMS', 'KNOX_MANAGE']],
    ['Knox Manage and Box', [false, true, true], ['KNOX_MANAGE', 'BOX']],
    ['KDMS and Box', [true, false, true], ['KDMS', 'BOX']],
    ['KDMS only', [true, false, false], ['KDMS']],
    ['Knox Manage only', [false, true, false], ['KNOX_MANAGE']],
    ['Box only', [false, false, true], ['BOX']],
  ])('joins a device known to %s with what each API holds', async (_what, membership, sources) => {
    const seeded = withMembership(membership);
    const { device } = await graph.sdk.DeviceDetail({ imei: seeded.imei });
    const owner = fleet.users.find((u) => u.userId === seeded.knoxManage?.ownerUserId);
    const appNames = new Map(fleet.apps.map((a) => [a.guid, a.name]));
    expect(device).toMatchObject({
      id: deviceIdOf(seeded),
      imei: seeded.imei,
      sources,
      registration: seeded.kdms ? { deviceId: seeded.kdms.deviceId, customerId: fleet.customerId } : null,
      management: seeded.knoxManage
        ? {
            deviceId: seeded.knoxManage.deviceId,
            mobileId: seeded.knoxManage.mobileId,
            owner: { userId: owner!.userId, name: owner!.userName },
          }
        : null,
      access: seeded.box
        ? {
            guid: seeded.box.guid,
            cuid: seeded.box.cuid,
            name: seeded.box.name,
            loginBlocked: seeded.box.disabled,
            purgeAppDataOnNextLogin: seeded.box.blacklisted,
          }
        : null,
    });
    expect(device!.apps!.map((a) => a.name)).toEqual(
      (seeded.box?.appGuids ?? []).map((g) => appNames.get(g)),
    );
    const expectedUsers = new Set([
      ...(seeded.knoxManage ? [seeded.knoxManage.ownerUserId] : []),
      ...(seeded.box?.userIds ?? []),
    ]);
    expect(new Set(device!.users!.map((u) => u.userId))).toEqual(expectedUsers);
  });

  it('finds the same device by serial number and by id', async () => {
    const seeded = withMembership([true, true, true]);
    const bySerial = await graph.sdk.DeviceDetail({ serialNumber: seeded.serialNumber });
    const byId = await graph.sdk.DeviceDetail({ id: deviceIdOf(seeded) });
    expect(bySerial.device?.imei).toBe(seeded.imei);
    expect(byId.device).toEqual(bySerial.device);
  });

  it('answers null for a device no API knows, and BAD_USER_INPUT for a bad lookup', async () => {
    expect((await graph.sdk.DeviceDetail({ imei: '490154203237518' })).device).toBeNull();
    const two = await graph.post('{ device(imei: "490154203237518", serialNumber: "R58N12ABCDE") { id } }');
    expect(two.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badId = await graph.post('{ device(id: "nope") { id } }');
    expect(badId.body.errors?.[0]).toMatchObject({
      message: '"nope" is not a device id',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('still answers KDMS and Knox Manage data when Box fails, with errors on the Box paths only', async () => {
    const seeded = withMembership([true, true, true]);
    await request('PUT', `${graph.fleetgraph.emulators!.urls.box}/_emulator/faults`, {
      errorRate: 1,
      errorStatus: 503,
    });
    try {
      const { status, body } = await graph.post(DETAIL, { imei: seeded.imei });
      expect(status).toBe(200);
      const device = body.data?.device as Record<string, unknown>;
      expect(device).toMatchObject({
        imei: seeded.imei,
        registration: { deviceId: seeded.kdms!.deviceId },
        management: { deviceId: seeded.knoxManage!.deviceId },
        access: null,
        apps: null,
        users: null,
        sources: null,
      });
      const paths = body.errors!.map((e) => e.path?.join('.')).sort();
      expect(paths).toEqual(['device.access', 'device.apps', 'device.sources', 'device.users']);
      for (const error of body.errors!) {
        expect(error.extensions).toMatchObject({
          code: 'UPSTREAM_UNAVAILABLE',
          upstream: 'BOX',
          upstreamStatus: 503,
        });
        expect(error.message).toContain('Box answered HTTP 503');
      }
    } finally {
      await request('DELETE', `${graph.fleetgraph.emulators!.urls.box}/_emulator/faults`);
    }
  });
});

describe('updateDeviceAccess', () => {
  it('renames and blocks a device in Box, and the next read shows it', async () => {
    const seeded = withMembership([true, true, true]);
    const id = deviceIdOf(seeded);
    const { updateDeviceAccess } = await graph.sdk.UpdateDeviceAccess({
      id,
      input: { name: 'Reception kiosk', loginBlocked: true },
    });
    expect(updateDeviceAccess.access).toEqual({
      name: 'Reception kiosk',
      loginBlocked: true,
      purgeAppDataOnNextLogin: seeded.box!.blacklisted,
    });
    expect((await graph.sdk.DeviceDetail({ id })).device?.access).toMatchObject({
      name: 'Reception kiosk',
      loginBlocked: true,
    });
    expect(graph.upstreamCallsByEndpoint().box['POST /box/srv/1.1/admin/device/update']).toBe(1);
  });

  it('is visible through the read cache too (the write invalidates the cached Box list)', async () => {
    const cached = await startTestGraph({ env: { READ_CACHE_TTL_MS: '60000' }, emulators: { fleet } });
    try {
      const first = await cached.sdk.FleetPage({ first: 10 });
      const node = first.devices!.edges.find((e) => e.node.access)!.node;
      await cached.sdk.UpdateDeviceAccess({
        id: node.id,
        input: { purgeAppDataOnNextLogin: true, name: 'Returned to stock' },
      });
      const again = await cached.sdk.FleetPage({ first: 10 });
      expect(again.devices!.edges.find((e) => e.node.id === node.id)?.node.access?.name).toBe(
        'Returned to stock',
      );
    } finally {
      await cached.stop();
    }
  });

  it('refuses an empty change and answers NOT_FOUND for a device Box does not hold', async () => {
    const seeded = withMembership([true, true, false]);
    const empty = await graph.post('mutation ($id: ID!) { updateDeviceAccess(id: $id, input: {}) { id } }', {
      id: deviceIdOf(seeded),
    });
    expect(empty.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const missing = await graph.post(
      'mutation ($id: ID!) { updateDeviceAccess(id: $id, input: { loginBlocked: true }) { id } }',
      { id: deviceIdOf(seeded) },
    );
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('users and authentication', () => {
  it('reads a user with the devices Knox Manage assigns to them', async () => {
    const owner = fleet.users.find(
      (u) => fleet.devices.filter((d) => d.knoxManage?.ownerUserId === u.userId).length >= 2,
    )!;
    const owned = fleet.devices.filter((d) => d.knoxManage?.ownerUserId === owner.userId);
    const { user } = await graph.sdk.UserWithDevices({ userId: owner.userId, first: 100 });
    expect(user).toMatchObject({
      userId: owner.userId,
      name: owner.userName,
      email: owner.email,
      organization: owner.orgName,
    });
    expect(user!.devices!.edges.map((e) => e.node.serialNumber).sort()).toEqual(
      owned.map((d) => d.serialNumber).sort(),
    );
    const paged = await graph.sdk.UserWithDevices({ userId: owner.userId, first: 1 });
    const rest = await graph.sdk.UserWithDevices({
      userId: owner.userId,
      first: 100,
      after: paged.user!.devices!.pageInfo.endCursor,
    });
    expect(paged.user!.devices!.edges.length + rest.user!.devices!.edges.length).toBe(owned.length);
    expect((await graph.sdk.UserWithDevices({ userId: 'no.such.user', first: 5 })).user).toBeNull();
  });

  it('pages users', async () => {
    const first = await graph.sdk.Users({ first: 100 });
    expect(first.users!.totalCount).toBe(fleet.users.length);
    const second = await graph.sdk.Users({ first: 100, after: first.users!.pageInfo.endCursor });
    expect(second.users!.edges[0]?.node.userId).toBe(fleet.users[100]!.userId);
  });

  it('authenticates with Knox Manage and reports a wrong password as not authenticated', async () => {
    const user = fleet.users.find((u) => u.status === 'A')!;
    const ok = await graph.sdk.AuthenticateUser({ userId: user.userId, password: SEEDED_USER_PASSWORD });
    expect(ok.authenticateUser).toEqual({
      authenticated: true,
      message: null,
      user: { userId: user.userId, email: user.email },
    });
    const wrong = await graph.sdk.AuthenticateUser({ userId: user.userId, password: 'Wrong-password-1' });
    expect(wrong.authenticateUser).toMatchObject({ authenticated: false, user: null });
    const weak = await graph.post(
      'mutation { authenticateUser(userId: "x", password: "short") { authenticated } }',
    );
    expect(weak.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      upstream: 'KNOX_MANAGE',
    });
  });
});

describe('upstreams and upload jobs', () => {
  it('reports every upstream UP, and DOWN with the reason when one fails', async () => {
    expect((await graph.sdk.UpstreamHealth()).upstreams.map((u) => [u.upstream, u.status])).toEqual([
      ['KDMS', 'UP'],
      ['KNOX_MANAGE', 'UP'],
      ['BOX', 'UP'],
    ]);
    await request('PUT', `${graph.fleetgraph.emulators!.urls.knoxManage}/_emulator/faults`, { errorRate: 1 });
    const health = await graph.sdk.UpstreamHealth();
    await request('DELETE', `${graph.fleetgraph.emulators!.urls.knoxManage}/_emulator/faults`);
    expect(health.upstreams[1]).toMatchObject({
      upstream: 'KNOX_MANAGE',
      status: 'DOWN',
      message: expect.stringContaining('HTTP 500'),
    });
  });

  it('answers null for an unknown upload job', async () => {
    const res = await graph.post('{ uploadJob(id: "no-such-job") { id status } }');
    expect(res.body).toEqual({ data: { uploadJob: null } });
  });
});
