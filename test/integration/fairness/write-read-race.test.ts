import { deviceIdOf } from '../../../src/domain/device-ref.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { productionEnv, tokenWith } from '../../helpers/production-env.js';

/**
 * Issue 13, item 3: a Box list read already in flight when updateDeviceAccess clears the cache must not
 * write its older answer back afterwards. The emulator computes the list at once and sends it slowly
 * (slowBodyMs), so the read's answer predates the write.
 */
const LIST = '/box/srv/1.1/admin/device/list';
const LIST_CALLS = `POST ${LIST}`;

let emulators: RunningEmulators;
let graph: TestGraph;
let auth: Record<string, string>;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 40, seed: 'write-read-race' } });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    env: productionEnv(emulators, { READ_CACHE_TTL_MS: '60000' }),
  });
  auth = { authorization: `Bearer ${await tokenWith('devices:read', 'devices:write')}` };
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});

const listCalls = () => emulators.requestCounts().box[LIST_CALLS] ?? 0;

describe('a read started before a write never overwrites the cache after it', () => {
  it('the write/read race serves the written value', async () => {
    const devices = emulators.fleet.devices.filter((d) => d.imei && d.kdms && d.box).slice(0, 3);
    const target = devices[0]!;
    // Three devices' access in one query: the loader reads Box's whole (cached) list.
    const ACCESS = `{ ${devices
      .map((d, i) => `d${i}: device(imei: "${d.imei}") { access { cuid loginBlocked } }`)
      .join(' ')} }`;
    const blockedOf = (body: { data?: Record<string, unknown> | null }) =>
      (body.data?.d0 as { access: { loginBlocked: boolean } }).access.loginBlocked;

    // A list read is in flight (nothing cached yet), its answer computed at once and slow to arrive.
    await request('PUT', `${emulators.urls.box}/_emulator/faults`, { slowBodyMs: 1500, paths: [LIST] });
    const staleRead = graph.post(ACCESS, {}, auth);
    for (let i = 0; i < 500 && listCalls() < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(listCalls()).toBe(1);

    const write = await graph.post(
      `mutation ($id: ID!) { updateDeviceAccess(id: $id, input: { loginBlocked: true }) { access { loginBlocked } } }`,
      { id: deviceIdOf(target) },
      auth,
    );
    expect(write.body.errors).toBeUndefined();
    expect(JSON.stringify(write.body.data)).toContain('"loginBlocked":true');

    // The older read finishes after the write; it answers its own caller with what it read, but it does
    // not put that into the cache.
    expect(blockedOf((await staleRead).body)).toBe(false);
    await request('DELETE', `${emulators.urls.box}/_emulator/faults`);

    const after = await graph.post(ACCESS, {}, auth);
    expect(after.body.errors).toBeUndefined();
    expect(blockedOf(after.body)).toBe(true);
    // And the fresh answer is what the cache keeps.
    const again = await graph.post(ACCESS, {}, auth);
    expect(blockedOf(again.body)).toBe(true);
    expect(listCalls()).toBe(2);
  });
});
