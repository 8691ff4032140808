import { deviceIdOf } from '../../../src/domain/device-ref.js';
import type { SeededDevice, SeededFleet } from '../../../src/emulators/fleet/seeded-fleet.js';
import type { DeviceIdsQuery } from '../../../src/generated/fleetgraph-sdk.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

/** The fleet page, the whole-fleet walk, and what they cost upstream (counted by the emulators). */
let graph: TestGraph;
let fleet: SeededFleet;
beforeAll(async () => {
  graph = await startTestGraph();
  fleet = graph.fleetgraph.emulators!.fleet;
});
afterAll(() => graph.stop());
beforeEach(() => graph.resetCalls());

/** KDMS lists first, in its own order: sorted by its device id. */
const kdmsOrder = (f: SeededFleet): SeededDevice[] =>
  f.devices.filter((d) => d.kdms).sort((a, b) => (a.kdms!.deviceId < b.kdms!.deviceId ? -1 : 1));

describe('devices(first: 100) with management, access and apps', () => {
  it('returns 100 devices with fields from all three APIs, matching what the emulators hold', async () => {
    const devices = (await graph.sdk.FleetPage({ first: 100 })).devices!;
    expect(devices.edges).toHaveLength(100);
    expect(devices.pageInfo.hasNextPage).toBe(true);
    const expected = kdmsOrder(fleet).slice(0, 100);
    devices.edges.forEach(({ node }, i) => {
      const seeded = expected[i]!;
      const apps = new Map(fleet.apps.map((a) => [a.guid, a.name]));
      expect(node).toEqual({
        id: deviceIdOf(seeded),
        imei: seeded.imei,
        serialNumber: seeded.serialNumber,
        model: seeded.model,
        management: seeded.knoxManage ? { status: expect.any(String) } : null,
        access: seeded.box ? { name: seeded.box.name, loginBlocked: seeded.box.disabled } : null,
        apps: (seeded.box?.appGuids ?? []).map((g) => ({ name: apps.get(g) })),
      });
    });
  });

  it('costs one call per API for records, plus the one listapps per Box device that API requires', async () => {
    await graph.sdk.FleetPage({ first: 100 });
    const inBox = kdmsOrder(fleet)
      .slice(0, 100)
      .filter((d) => d.box).length;
    expect(graph.upstreamCallsByEndpoint()).toMatchObject({
      kdms: { 'POST /kdms/v1/devices/getDevices': 1 },
      knoxManage: { 'POST /emm/oapi/device/selectDeviceList': 1 },
      box: { 'POST /box/srv/1.1/admin/device/list': 1, 'POST /box/srv/1.1/admin/device/listapps': inBox },
    });
    expect(graph.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 1, box: 1 + inBox });
  });

  it('without apps, costs exactly one call per API', async () => {
    await graph.post(
      '{ devices(first: 100) { edges { node { id model management { status } access { name loginBlocked } } } } }',
    );
    expect(graph.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 1, box: 1 });
  });
});

describe('a user with devices and apps (benchmark W4)', () => {
  it("costs the user's device list, Box's list and one listapps per device Box holds, like hand-written REST", async () => {
    const owner = fleet.users.find(
      (u) => fleet.devices.filter((d) => d.knoxManage?.ownerUserId === u.userId).length >= 3,
    )!;
    const owned = fleet.devices.filter((d) => d.knoxManage?.ownerUserId === owner.userId);
    await graph.post(
      'query ($u: ID!) { user(userId: $u) { devices(first: 20) { edges { node { imei apps { name } } } } } }',
      { u: owner.userId },
    );
    expect(graph.upstreamCallsByEndpoint().knoxManage).toEqual({
      // The owner's devices, read with selectDeviceList's userId filter; owning devices proves the user exists.
      'POST /emm/oapi/device/selectDeviceList': 1,
    });
    expect(graph.upstreamCallsByEndpoint().box).toEqual({
      'POST /box/srv/1.1/admin/device/list': 1,
      'POST /box/srv/1.1/admin/device/listapps': owned.filter((d) => d.box).length,
    });
  });
});

describe('with the read cache on (READ_CACHE_TTL_MS)', () => {
  it('serves a repeated fleet page with one KDMS call: lists and per-device apps come from the cache', async () => {
    const cached = await startTestGraph({ env: { READ_CACHE_TTL_MS: '60000' }, emulators: { fleet } });
    try {
      await cached.sdk.FleetPage({ first: 100 });
      cached.resetCalls();
      const again = await cached.sdk.FleetPage({ first: 100 });
      expect(again.devices!.edges).toHaveLength(100);
      expect(cached.upstreamCalls()).toEqual({ kdms: 1, knoxManage: 0, box: 0 });
    } finally {
      await cached.stop();
    }
  });
});

describe('naive resolvers (FLEETGRAPH_BATCHING=off, the benchmark baseline)', () => {
  it('cost one upstream call per device and field', async () => {
    const naive = await startTestGraph({ env: { FLEETGRAPH_BATCHING: 'off' }, emulators: { fleet } });
    try {
      naive.resetCalls();
      await naive.post(
        '{ devices(first: 100) { edges { node { id model management { status } access { name loginBlocked } } } } }',
      );
      const page = kdmsOrder(fleet).slice(0, 100);
      // A miss by IMEI falls back to the serial number: two reads for a device the API does not hold.
      const reads = (held: (d: SeededDevice) => boolean) =>
        page.reduce((n, d) => n + (held(d) ? 1 : d.imei ? 2 : 1), 0);
      expect(naive.upstreamCalls()).toEqual({
        kdms: 1,
        knoxManage: reads((d) => Boolean(d.knoxManage)),
        box: reads((d) => Boolean(d.box)),
      });
      expect(naive.upstreamCalls().knoxManage + naive.upstreamCalls().box).toBeGreaterThanOrEqual(200);
    } finally {
      await naive.stop();
    }
  });
});

describe('walking the whole fleet', () => {
  it('returns every device of every API exactly once', async () => {
    const seen: string[] = [];
    let after: string | null | undefined = null;
    let pages = 0;
    do {
      const page: DeviceIdsQuery = await graph.sdk.DeviceIds({ first: 100, after });
      const devices = page.devices!;
      seen.push(...devices.edges.map((e) => e.node.id));
      after = devices.pageInfo.hasNextPage ? devices.pageInfo.endCursor : null;
      pages += 1;
    } while (after && pages < 50);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(fleet.devices.map((d) => deviceIdOf(d)).sort());
  });

  it('lists one API only with filter.source, and Knox Manage devices by status', async () => {
    const box = await graph.sdk.DeviceIds({ first: 100, filter: { source: 'BOX' } });
    expect(box.devices!.edges.map((e) => e.node.id)).toEqual(
      fleet.devices
        .filter((d) => d.box)
        .slice(0, 100)
        .map((d) => deviceIdOf(d)),
    );
    const blocked = await graph.sdk.FleetPage({
      first: 100,
      filter: { managementStatus: 'BLOCKED_BY_ADMIN' },
    });
    const expected = fleet.devices.filter((d) => d.knoxManage?.status === 'BA');
    expect(blocked.devices!.edges).toHaveLength(Math.min(100, expected.length));
    expect(blocked.devices!.edges.every((e) => e.node.management?.status === 'BLOCKED_BY_ADMIN')).toBe(true);
  });

  it('refuses first above the cap and cursors it did not issue, with BAD_USER_INPUT', async () => {
    const tooMany = await graph.post('{ devices(first: 101) { edges { cursor } } }');
    expect(tooMany.body.errors?.[0]).toMatchObject({
      message: 'first must be between 0 and 100, got 101',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const forged = await graph.post('{ devices(first: 5, after: "bm90LWEtY3Vyc29y") { edges { cursor } } }');
    expect(forged.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const mixed = await graph.post(
      '{ devices(first: 5, filter: { source: BOX, managementStatus: ACTIVATED }) { edges { cursor } } }',
    );
    expect(mixed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
