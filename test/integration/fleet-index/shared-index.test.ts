import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import {
  FLEET_INDEX_ENV,
  callsByEndpoint,
  expectedDevices,
  indexReady,
  listCalls,
} from '../../helpers/fleet-index.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';
import { eventually } from '../../helpers/wait.js';
import { startLocalPostgres } from '../../../examples/supergraph/local-postgres.js';
import type { LocalPostgres } from '../../../examples/supergraph/local-postgres.js';

/**
 * Two Fleetgraph replicas on one PostgreSQL fleet index (FLEET_INDEX_DATABASE_URL), in front of the
 * same emulators serving 20,000 devices. Proved with the emulators' call counters, never a clock:
 * - started at once, they race for the sync and make ONE between them (one read of each collection);
 * - once synced, a fleet page is the same through either, and costs no upstream call at all;
 * - `_entities` × 100 through B costs no Knox Manage or Box call;
 * - a write through A is in B's index (filter and search) before A answers;
 * - the sync lease: while A holds it B does not sync; once A is gone and its lease expired, B syncs;
 * - PostgreSQL killed (kill -9): index reads fail with FLEET_INDEX_UNAVAILABLE, then the replica sets the
 *   index aside (/readyz 503, FAILED) and answers from the APIs live.
 */
const SIZE = 20_000;
const PAGE =
  '{ devices(first: 100) { totalCount edges { node { id imei serialNumber management { status } access { name loginBlocked } } } } }';
const KM_DEVICE_LIST = 'POST /emm/oapi/device/selectDeviceList';
const KM_USERS = 'GET /emm/oapi/user/selectUsers';
const BOX_LIST = 'POST /box/srv/1.1/admin/device/list';
const KDMS_DEVICES = 'POST /kdms/v1/devices/getDevices';

interface PageNode {
  id: string;
  imei: string | null;
  serialNumber: string | null;
  management: { status: string } | null;
  access: { name: string; loginBlocked: boolean } | null;
}

let pg: LocalPostgres;
let emulators: RunningEmulators;
let graphs: TestGraph[] = [];
let a: TestGraph;
let b: TestGraph;

const replica = () =>
  startTestGraph({
    sharedEmulators: emulators,
    env: { ...FLEET_INDEX_ENV, FLEET_INDEX_DATABASE_URL: pg.url },
  });
const runtimeOf = (graph: TestGraph) => graph.fleetgraph.server.upstreams.fleetIndex!;
const count = (predicate: (d: RunningEmulators['fleet']['devices'][number]) => unknown) =>
  emulators.fleet.devices.filter(predicate).length;
/** What one full sync reads: Knox Manage 1,000 devices a call; KDMS 1,000 a page, and a page past a full last one. */
const syncCalls = () => ({
  knoxManageDevicePages: Math.ceil(count((d) => d.knoxManage) / 1000),
  kdmsPages: Math.floor(count((d) => d.kdms) / 1000) + 1,
});
const ok = (body: GraphQLBody) => {
  expect(body.errors).toBeUndefined();
  return body.data!;
};
const pageOf = (data: Record<string, unknown>) =>
  data.devices as { totalCount: number; edges: Array<{ node: PageNode }> };

beforeAll(async () => {
  pg = await startLocalPostgres();
  emulators = await startTestEmulators({ fleet: { size: SIZE, seed: 'shared-index' } });
  // Both at once: each finds the index empty and tries to take the sync lease.
  const started = await Promise.allSettled([replica(), replica()]);
  graphs = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  [a, b] = graphs as [TestGraph, TestGraph];
  await Promise.all([indexReady(a, 150_000), indexReady(b, 150_000)]);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(graphs.map((g) => g.stop()));
  await emulators?.stop();
  await pg?.stop();
}, 60_000);

describe('two replicas on one shared fleet index (PostgreSQL)', () => {
  let page: PageNode[];

  it('sync once between them, and both see the result', () => {
    const calls = callsByEndpoint(emulators);
    const { knoxManageDevicePages, kdmsPages } = syncCalls();
    expect({
      knoxManageDevices: calls[KM_DEVICE_LIST],
      knoxManageUsers: calls[KM_USERS],
      box: calls[BOX_LIST],
      kdms: calls[KDMS_DEVICES],
    }).toEqual({ knoxManageDevices: knoxManageDevicePages, knoxManageUsers: 1, box: 1, kdms: kdmsPages });
    const [statusA, statusB] = [runtimeOf(a).sync.status(), runtimeOf(b).sync.status()];
    expect(statusA).toMatchObject({ shared: true, status: 'READY', usable: true, ready: true });
    expect(statusA.lastFullSyncAt).not.toBeNull();
    expect(statusB.lastFullSyncAt).toBe(statusA.lastFullSyncAt);
    for (const status of [statusA, statusB]) {
      expect(status.sources.knoxManage.records).toBe(count((d) => d.knoxManage));
      expect(status.sources.kdms.records).toBe(count((d) => d.kdms));
      expect(status.sources.box.records).toBe(count((d) => d.box));
    }
  });

  it('serve the same fleet page from the index, without one upstream call', async () => {
    a.resetCalls();
    const [fromA, fromB] = [ok((await a.post(PAGE)).body), ok((await b.post(PAGE)).body)];
    expect(fromB).toEqual(fromA);
    expect(listCalls(emulators)).toBe(0);
    expect(callsByEndpoint(emulators)).toEqual({});
    const expected = expectedDevices(emulators.fleet);
    const { totalCount, edges } = pageOf(fromA);
    expect(totalCount).toBe(expected.length);
    page = edges.map((e) => e.node);
    const firstKeys = expected
      .map((d) => d.key)
      .sort()
      .slice(0, 100);
    expect(page.map((n) => (n.imei ? `imei:${n.imei}` : `sn:${n.serialNumber}`))).toEqual(firstKeys);
  });

  it('resolve _entities × 100 through B without a Knox Manage or Box call', async () => {
    const representations = page
      .map((n) =>
        n.imei
          ? `{__typename:"Device",imei:"${n.imei}"}`
          : `{__typename:"Device",serialNumber:"${n.serialNumber}"}`,
      )
      .join(',');
    b.resetCalls();
    const data = ok(
      (
        await b.post(
          `{ _entities(representations:[${representations}]) { ... on Device { imei management { status } access { name } } } }`,
        )
      ).body,
    );
    expect({ knoxManage: b.upstreamCalls().knoxManage, box: b.upstreamCalls().box }).toEqual({
      knoxManage: 0,
      box: 0,
    });
    expect(data._entities).toEqual(
      page.map((n) => ({
        imei: n.imei,
        management: n.management,
        access: n.access && { name: n.access.name },
      })),
    );
  });

  it("see a write made through A in B's index before A answers", async () => {
    const device = page.find((n) => n.access && !n.access.loginBlocked)!;
    const search = `devices(first: 5, filter: { search: "${device.imei ?? device.serialNumber}", loginBlocked: true }) { totalCount edges { node { id } } }`;
    expect(pageOf(ok((await b.post(`{ ${search} }`)).body))).toEqual({ totalCount: 0, edges: [] });
    const written = ok(
      (
        await a.post(
          `mutation { updateDeviceAccess(id: "${device.id}", input: { loginBlocked: true }) { id access { loginBlocked } } }`,
        )
      ).body,
    );
    expect(written.updateDeviceAccess).toEqual({ id: device.id, access: { loginBlocked: true } });
    b.resetCalls();
    expect(pageOf(ok((await b.post(`{ ${search} }`)).body))).toEqual({
      totalCount: 1,
      edges: [{ node: { id: device.id } }],
    });
    expect(listCalls(emulators)).toBe(0);
  });

  it('hand the sync lease over: not while A holds it, and once A is gone and its lease has expired', async () => {
    const sync = runtimeOf(b).sync;
    const before = sync.status().lastFullSyncAt;
    // A takes the lease, as at the start of a sync, and stops without releasing it (as in a crash).
    expect(await runtimeOf(a).index.takeLease(600_000)).toBe(true);
    b.resetCalls();
    await sync.syncNow();
    expect(callsByEndpoint(emulators)[KM_DEVICE_LIST]).toBeUndefined();
    await a.stop();
    graphs = graphs.filter((g) => g !== a);
    await sync.syncNow();
    expect(callsByEndpoint(emulators)[KM_DEVICE_LIST]).toBeUndefined();

    // Its lease expires (set back rather than waited for): B takes it and syncs every source once.
    await runtimeOf(b).index.engine.write((tx) => tx.run(`UPDATE index_lease SET expires_at = 0`));
    await sync.syncNow();
    const calls = callsByEndpoint(emulators);
    const { knoxManageDevicePages, kdmsPages } = syncCalls();
    expect([calls[KM_DEVICE_LIST], calls[KM_USERS], calls[BOX_LIST], calls[KDMS_DEVICES]]).toEqual([
      knoxManageDevicePages,
      1,
      1,
      kdmsPages,
    ]);
    expect(sync.status().lastFullSyncAt! > before!).toBe(true);
    expect(sync.status().sources.knoxManage.records).toBe(count((d) => d.knoxManage));
    // The write made through A outlives the full sync: Box holds it too.
    const blocked = await b.post('{ devices(first: 1, filter: { loginBlocked: true }) { totalCount } }');
    expect(pageOf(ok(blocked.body)).totalCount).toBe(count((d) => d.box?.disabled) + 1);
  }, 120_000);

  it('once PostgreSQL is killed: index reads fail with a code, then the replica reads the APIs live and is unready', async () => {
    pg.kill9();
    const LISTING = '{ devices(first: 5) { edges { node { id } } } }';
    // Before its next look at the engine, an index read fails with a code naming the index.
    const { body } = await b.post(LISTING);
    if (body.errors) expect(body.errors[0]!.extensions?.code).toBe('FLEET_INDEX_UNAVAILABLE');
    // At its next look (every 5 s; the bound keeps a broken build from hanging) it stops using the index.
    await eventually(() => !runtimeOf(b).sync.status().usable, 'the index to be set aside');
    const ready = await fetch(b.url.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { fleetIndex: unknown }).fleetIndex).toMatchObject({
      status: 'FAILED',
      engineError: expect.stringMatching(/cannot be read/),
    });
    // Listings, joins and device(...) are read live meanwhile.
    expect(ok((await b.post(LISTING)).body).devices).toMatchObject({ edges: expect.any(Array) });
    const { imei, management } = page.find((n) => n.imei && n.management)!;
    const live = await b.post(`{ device(imei: "${imei}") { management { status } } }`);
    expect(ok(live.body).device).toEqual({ management });
    // A sync cannot take its lease: it fails, and the last state stays as it was.
    await expect(runtimeOf(b).sync.syncNow()).rejects.toBeDefined();
    expect(runtimeOf(b).sync.status().sources.knoxManage.records).toBe(count((d) => d.knoxManage));
  }, 60_000);
});
