import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { freshImeis } from '../../helpers/emulator-targets.js';
import {
  FLEET_INDEX_ENV,
  callsByEndpoint,
  expectedDevices,
  indexReady,
  listCalls,
} from '../../helpers/fleet-index.js';
import type { ExpectedDevice } from '../../helpers/fleet-index.js';
import { eventually } from '../../helpers/wait.js';

/**
 * The embedded fleet index (SQLite) over a 20,000-device fleet: one sync, then pages, joins and
 * `_entities` without a single Knox Manage or Box list call; filters, orders and counts that combine
 * the APIs, checked against what the emulators hold; writes and webhooks in the index at once; a sync
 * broken off by upstream failures keeps the last good index serving. Every figure is a call count.
 */
const FLEET_SIZE = 20_000;
const KM_LIST = 'POST /emm/oapi/device/selectDeviceList';

let graph: TestGraph;
let fleet: ExpectedDevice[];

const byKey = (a: ExpectedDevice, b: ExpectedDevice) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const idOf = (d: { imei: string | null; serialNumber: string | null }) => d.imei ?? d.serialNumber;

async function query<T>(source: string, variables?: Record<string, unknown>): Promise<T> {
  const { body } = await graph.post(source, variables);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}

interface Page {
  devices: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: Array<{
      node: { imei: string | null; serialNumber: string | null; syncedAt: string | null; access: unknown };
    }>;
  };
}
const PAGE = `query ($first: Int, $after: String, $filter: DeviceFilterInput, $orderBy: DeviceOrder) {
  devices(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { imei serialNumber syncedAt management { status } access { name loginBlocked } } }
  }
}`;

beforeAll(async () => {
  graph = await startTestGraph({
    env: FLEET_INDEX_ENV,
    emulators: { fleet: { size: FLEET_SIZE, seed: 'fleet-index' } },
  });
  await indexReady(graph);
  fleet = expectedDevices(graph.emulators.fleet);
}, 180_000);

afterAll(() => graph?.stop());

describe('the fleet index at 20,000 devices', () => {
  it('was filled by one full sync: one call per page of each API, no more', () => {
    const seeded = graph.emulators.fleet.devices;
    const calls = callsByEndpoint(graph.emulators);
    expect(calls[KM_LIST]).toBe(Math.ceil(seeded.filter((d) => d.knoxManage).length / 1000));
    expect(calls['GET /emm/oapi/user/selectUsers']).toBe(1);
    expect(Object.entries(calls).filter(([e]) => e.endsWith('/device/list'))).toEqual([
      [expect.stringMatching(/device\/list$/), 1],
    ]);
    const status = graph.fleetgraph.server.upstreams.fleetIndex!.sync.status();
    expect(status).toMatchObject({ status: 'READY', usable: true, ready: true });
    expect(status.sources.knoxManage.records).toBe(seeded.filter((d) => d.knoxManage).length);
    expect(status.sources.box.records).toBe(seeded.filter((d) => d.box).length);
    expect(status.sources.kdms.records).toBe(seeded.filter((d) => d.kdms).length);
  });

  it('serves a fleet page and _entities × 100 without a Knox Manage or Box call', async () => {
    graph.resetCalls();
    const page = await query<Page>(PAGE, { first: 100 });
    expect(page.devices.totalCount).toBe(fleet.length);
    expect(page.devices.edges.map((e) => idOf(e.node))).toEqual(
      [...fleet].sort(byKey).slice(0, 100).map(idOf),
    );
    expect(page.devices.edges.every((e) => e.node.syncedAt !== null)).toBe(true);
    const representations = page.devices.edges.map((e) =>
      e.node.imei
        ? { __typename: 'Device', imei: e.node.imei }
        : { __typename: 'Device', serialNumber: e.node.serialNumber },
    );
    const entities = await query<{
      _entities: Array<{ imei: string | null; management: unknown; access: unknown }>;
    }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Device { imei syncedAt management { status } access { name } } } }`,
      { r: representations },
    );
    expect(entities._entities).toHaveLength(100);
    expect(entities._entities.map((e) => e.access !== null)).toEqual(
      page.devices.edges.map((e) => e.node.access !== null),
    );
    expect(listCalls(graph.emulators)).toBe(0);
    const { knoxManage, box } = graph.upstreamCalls();
    expect({ knoxManage, box }).toEqual({ knoxManage: 0, box: 0 });
  });

  it('combines filters across the APIs, orders and counts as the emulators hold the fleet', async () => {
    graph.resetCalls();
    const filter = { managementStatus: 'ACTIVATED', loginBlocked: false, source: 'KDMS' };
    const expected = fleet
      .filter((d) => d.status === 'ACTIVATED' && d.loginBlocked === false && d.sources.includes('KDMS'))
      .sort((a, b) => (a.lastSeen! < b.lastSeen! ? 1 : a.lastSeen! > b.lastSeen! ? -1 : byKey(b, a)));
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 3; i++) {
      const page: Page = await query<Page>(PAGE, {
        first: 50,
        after,
        filter,
        orderBy: { field: 'LAST_CONNECTED_AT', direction: 'DESC' },
      });
      expect(page.devices.totalCount).toBe(expected.length);
      seen.push(...page.devices.edges.map((e) => idOf(e.node)!));
      after = page.devices.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected.slice(0, 150).map(idOf));

    const model = fleet.find((d) => d.model)!.model!;
    const owner = fleet.find((d) => d.ownerUserId)!.ownerUserId!;
    const counted = await query<{
      a: { totalCount: number };
      b: { totalCount: number };
      c: { totalCount: number };
    }>(
      `query ($model: String, $owner: String, $since: DateTime) {
        a: devices(first: 1, filter: { model: $model, source: BOX }) { totalCount }
        b: devices(first: 1, filter: { userId: $owner }) { totalCount }
        c: devices(first: 1, filter: { notSeenSince: $since }) { totalCount }
      }`,
      { model, owner, since: '2026-10-15T00:00:00.000Z' },
    );
    expect(counted.a.totalCount).toBe(
      fleet.filter((d) => d.model === model && d.sources.includes('BOX')).length,
    );
    expect(counted.b.totalCount).toBe(fleet.filter((d) => d.ownerUserId === owner).length);
    expect(counted.c.totalCount).toBe(
      fleet.filter((d) => d.lastSeen !== null && d.lastSeen < '2026-10-15T00:00:00.000Z').length,
    );

    const summary = await query<{
      fleetSummary: { total: number; bySource: Array<{ value: string; count: number }> };
    }>(
      `{ fleetSummary { total bySource { value count } byManagementStatus { value count } byModel { value count } } }`,
    );
    expect(summary.fleetSummary.total).toBe(fleet.length);
    expect(summary.fleetSummary.bySource).toEqual(
      ['KDMS', 'KNOX_MANAGE', 'BOX'].map((value) => ({
        value,
        count: fleet.filter((d) => d.sources.includes(value)).length,
      })),
    );
    expect(listCalls(graph.emulators)).toBe(0);
  });

  it('searches names, identifiers and owners by word prefix', async () => {
    const device = fleet.find((d) => d.imei && d.seeded.box)!;
    const byImeiPrefix = await query<Page>(PAGE, {
      first: 100,
      filter: { search: device.imei!.slice(0, 12) },
    });
    expect(byImeiPrefix.devices.edges.map((e) => e.node.imei)).toContain(device.imei);
    const name = device.seeded.box!.name; // "Galaxy S24 (Ana Jones)"
    const words = name.replace(/[()]/g, '').split(' ');
    const byName = await query<Page>(PAGE, {
      first: 100,
      filter: { search: `${words.at(-2)} ${words.at(-1)}` },
    });
    expect(byName.devices.edges.map((e) => idOf(e.node))).toContain(idOf(device));
    const empty = await graph.post(`{ devices(filter: { search: "()" }) { totalCount } }`);
    expect(empty.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('holds our own write at once: updateDeviceAccess, then a filtered page, no list call', async () => {
    const target = fleet.find((d) => d.loginBlocked === false && d.imei)!;
    graph.resetCalls();
    const write = await query<{ updateDeviceAccess: { id: string } }>(
      `mutation ($id: ID!) { updateDeviceAccess(id: $id, input: { loginBlocked: true }) { id } }`,
      { id: Buffer.from(`imei:${target.imei}`).toString('base64url') },
    );
    expect(write.updateDeviceAccess.id).toBeTruthy();
    const page = await query<Page>(PAGE, { first: 10, filter: { search: target.imei, loginBlocked: true } });
    expect(page.devices.edges.map((e) => e.node.imei)).toEqual([target.imei]);
    expect(listCalls(graph.emulators)).toBe(0);
  });

  it("holds a KDMS webhook's outcome at once: an upload appears, a delete leaves", async () => {
    const [imei] = freshImeis(1);
    const registered = async () =>
      (await query<Page>(PAGE, { first: 5, filter: { search: imei, source: 'KDMS' } })).devices.totalCount;
    const settle = async (mutation: 'uploadDevices' | 'deleteDevices') => {
      const job = await query<Record<string, { id: string }>>(
        `mutation ($imeis: [String!]) { ${mutation}(input: { imeis: $imeis }) { id } }`,
        { imeis: [imei] },
      );
      const id = job[mutation]!.id;
      // The job settles when KDMS calls the webhook; the index was refreshed before it reads as settled.
      await eventually(async () => {
        const read = await query<{ uploadJob: { status: string } }>(
          `query ($id: ID!) { uploadJob(id: $id) { status } }`,
          { id },
        );
        return read.uploadJob.status === 'COMPLETED';
      }, `the ${mutation} job to complete`);
    };
    expect(await registered()).toBe(0);
    await settle('uploadDevices');
    expect(await registered()).toBe(1);
    await settle('deleteDevices');
    expect(await registered()).toBe(0);
  });

  it('keeps serving the last good index when a sync is broken off by upstream failures', async () => {
    const runtime = graph.fleetgraph.server.upstreams.fleetIndex!;
    const before = await query<Page>(PAGE, { first: 100, filter: { source: 'KNOX_MANAGE' } });
    const kmRecords = runtime.sync.status().sources.knoxManage.records;
    // Knox Manage answers its first pages, then fails every device list call.
    graph.emulators.knoxManage.http.setFaults({
      paths: ['/emm/oapi/device/selectDeviceList'],
      latencyMs: 100,
    });
    graph.resetCalls();
    const sync = runtime.sync.syncNow();
    await eventually(() => (graph.emulators.requestCounts().knoxManage[KM_LIST] ?? 0) >= 3, 'a few pages');
    graph.emulators.knoxManage.http.setFaults({ errorRate: 1, latencyMs: 0 });
    await sync;
    graph.emulators.knoxManage.http.clearFaults();

    const status = runtime.sync.status();
    expect(status.status).toBe('STALE');
    expect(status.usable).toBe(true);
    expect(status.sources.knoxManage.lastError).toMatch(/Knox Manage/);
    expect(status.sources.knoxManage.records).toBe(kmRecords);
    expect(status.sources.box.lastError).toBeNull();
    graph.resetCalls();
    const after = await query<Page>(PAGE, { first: 100, filter: { source: 'KNOX_MANAGE' } });
    expect(after.devices.totalCount).toBe(before.devices.totalCount);
    expect(after.devices.edges.map((e) => idOf(e.node))).toEqual(
      before.devices.edges.map((e) => idOf(e.node)),
    );
    expect(listCalls(graph.emulators)).toBe(0);
    const health = await query<{
      upstreams: Array<{ upstream: string; sync: { lastError: string | null } }>;
    }>(`{ upstreams { upstream sync { records lastFullSyncAt lastError inProgressPercent } } }`);
    expect(health.upstreams.find((u) => u.upstream === 'KNOX_MANAGE')!.sync.lastError).toMatch(/Knox Manage/);

    // Once Knox Manage answers again (its breaker lets a probe through), the next sync heals the index.
    await eventually(
      async () => {
        await runtime.sync.syncNow();
        return runtime.sync.status().status === 'READY';
      },
      'a sync that succeeds again',
      60_000,
    );
    expect(runtime.sync.status().sources.knoxManage).toMatchObject({ lastError: null, records: kmRecords });
  });
});

describe('without the index', () => {
  it('answers what only the index can answer with FLEET_INDEX_UNAVAILABLE', async () => {
    const off = await startTestGraph();
    try {
      const { body } = await off.post(
        `{ fleetSummary { total } devices(first: 1, filter: { loginBlocked: true }) { edges { node { id } } } }`,
      );
      expect(body.errors?.map((e) => e.extensions?.code)).toEqual([
        'FLEET_INDEX_UNAVAILABLE',
        'FLEET_INDEX_UNAVAILABLE',
      ]);
      const total = await off.post(`{ devices(first: 1) { totalCount edges { node { id } } } }`);
      expect(total.body.errors?.[0]?.extensions?.code).toBe('FLEET_INDEX_UNAVAILABLE');
      expect(total.body.data).toMatchObject({ devices: { totalCount: null } });
    } finally {
      await off.stop();
    }
  });
});
