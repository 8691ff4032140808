import type { ObservedReply } from '../../src/emulators/core/http-emulator.js';
import {
  KNOX_MANAGE_API_PREFIX,
  KNOX_MANAGE_PATHS,
} from '../../src/upstreams/knox-manage/knox-manage.wire.js';
import { startTestGraph } from '../helpers/graph.js';
import type { TestGraph } from '../helpers/graph.js';
import { loadPublishedSpec } from '../helpers/published-spec.js';

/**
 * Every Knox Manage answer Fleetgraph uses, checked against the published OpenAPI document: the graph
 * runs the queries a user runs (README examples, lookups, users, sign-in, health) against the emulator,
 * and each answer the emulator sent on `/emm/oapi/*` is validated with ajv against the vendor's schema
 * of that path. The emulator cannot drift from the published API without this failing.
 */
const spec = loadPublishedSpec();
let graph: TestGraph;
const replies: ObservedReply[] = [];

beforeAll(async () => {
  graph = await startTestGraph();
  graph.emulators.knoxManage.http.observe((reply) => replies.push(reply));
});
afterAll(() => graph.stop());

describe('the published Knox Manage document', () => {
  it('rejects answers in the shapes our old wire module guessed (the check can fail)', () => {
    const guessed = { resultCode: '0', resultMessage: 'No Error', resultValue: { total: 5, deviceList: [] } };
    expect(spec.check('post', '/device/selectDeviceList', guessed)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('/resultValue/total must be string'),
        expect.stringContaining('must NOT have additional properties {"additionalProperty":"deviceList"}'),
      ]),
    );
    const pagedUsers = { resultCode: '0', resultMessage: 'No Error', resultValue: { total: 1, users: [] } };
    expect(spec.check('get', '/user/selectUsers', pagedUsers)).not.toEqual([]);
  });

  it('accepts every Knox Manage answer Fleetgraph uses', async () => {
    const fleet = graph.emulators.fleet;
    const managed = fleet.devices.filter((d) => d.knoxManage && d.imei);
    const device = managed[0]!;
    const ownerId = device.knoxManage!.ownerUserId;
    const queries: Array<[string, Record<string, unknown>]> = [
      [
        'query Page { devices(first: 100) { edges { node { id management { deviceId status owner { userId name } } } } } }',
        {},
      ],
      [
        'query ByImei($imei: String) { device(imei: $imei) { management { status lastConnectedAt tags } } }',
        { imei: device.imei },
      ],
      [
        'query BySerial($sn: String) { device(serialNumber: $sn) { management { deviceId mobileId } } }',
        { sn: managed[1]!.serialNumber },
      ],
      ['query Unknown { device(imei: "490154203237518") { id management { deviceId } } }', {}],
      [
        'query User($id: ID!) { user(userId: $id) { userId name email devices(first: 5) { edges { node { id } } } } }',
        { id: ownerId },
      ],
      ['query NoUser { user(userId: "no.such.user") { userId } }', {}],
      ['query Users { users(first: 10) { totalCount edges { node { userId name active } } } }', {}],
      [
        'query Filtered { devices(first: 10, filter: { managementStatus: ACTIVATED }) { edges { node { id } } } }',
        {},
      ],
      [
        'mutation In($id: ID!) { authenticateUser(userId: $id, password: "Fleetgraph-dev-1!") { authenticated } }',
        { id: ownerId },
      ],
      [
        'mutation Out($id: ID!) { authenticateUser(userId: $id, password: "Wrong-password-1") { authenticated } }',
        { id: ownerId },
      ],
      ['query Health { upstreams { upstream status } }', {}],
    ];
    for (const [query, variables] of queries) {
      const { status, body } = await graph.post(query, variables);
      expect({ query, status, errors: body.errors }).toEqual({ query, status: 200, errors: undefined });
    }

    const api = replies.filter((r) => r.route.startsWith(`${KNOX_MANAGE_API_PREFIX}/`));
    const problems = api.flatMap((r) =>
      spec
        .check(r.method, r.route.slice(KNOX_MANAGE_API_PREFIX.length), r.body)
        .map((p) => `${r.method} ${r.route}: ${p}`),
    );
    expect(problems).toEqual([]);
    // Every endpoint the client calls was exercised, including the not-found and refused answers.
    const used = new Set(api.map((r) => r.route.slice(KNOX_MANAGE_API_PREFIX.length)));
    const { selectDevicesByUser: _notUsed, ...called } = KNOX_MANAGE_PATHS;
    expect([...used].sort()).toEqual(Object.values(called).sort());
    const codes = new Set(api.map((r) => (r.body as { resultCode?: string }).resultCode));
    expect([...codes].sort()).toEqual(['-205', '-224', '0']);
  });
});
