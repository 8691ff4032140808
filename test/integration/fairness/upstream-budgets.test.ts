import { loadConfig } from '../../../src/config/config.js';
import type { ResilienceConfig } from '../../../src/config/config.js';
import { SEEDED_USER_PASSWORD } from '../../../src/emulators/fleet/seeded-fleet.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { signCallerToken } from '../../../src/server/dev-token.js';
import type { UpstreamBudgetConfig } from '../../../src/server/create-upstreams.js';
import { mapSettled } from '../../../src/loaders/concurrency.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { TEST_JWT_SECRET, productionEnv } from '../../helpers/production-env.js';

/**
 * Issue 13, item 1: one caller must not take Knox Manage away from everyone. The emulator enforces a
 * small quota (the real one is 1,800/min) and the graph's budget matches it; the greedy caller spends
 * its share and is refused, the other caller still reads, signs users in and lists users.
 */
const QUOTA = 40;
const KM_READ = 'POST /emm/oapi/device/selectDeviceInfoByImei';
const MANAGEMENT = `query ($imei: String) { device(imei: $imei) { imei management { status } } }`;

let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 120, seed: 'fairness' } });
});
afterAll(() => emulators.stop());

/** A graph in production mode with Knox Manage's budget set to `QUOTA` (config.ts wiring stands in). */
async function graphWithBudget(env: Record<string, string> = {}): Promise<TestGraph> {
  const full = productionEnv(emulators, env);
  const loaded = loadConfig(full);
  const resilience: ResilienceConfig & Partial<UpstreamBudgetConfig> = {
    ...loaded.resilience,
    requestsPerMinute: { kdms: 0, knoxManage: QUOTA, box: 0 },
    callerShare: 0.5,
  };
  return startTestGraph({ sharedEmulators: emulators, env: full, config: { resilience } });
}

const bearer = async (subject: string) => ({
  authorization: `Bearer ${await signCallerToken(TEST_JWT_SECRET, { subject })}`,
});
const managedImeis = () =>
  emulators.fleet.devices.filter((d) => d.imei && d.kdms && d.knoxManage).map((d) => d.imei!);
const codes = (body: GraphQLBody) => body.errors?.map((e) => e.extensions?.code) ?? [];

describe('Knox Manage budget shared fairly between callers', () => {
  it('a second caller still reads Knox Manage while the first is over its share', async () => {
    await request('PUT', `${emulators.urls.knoxManage}/_emulator/rate-limit`, { requestsPerMinute: QUOTA });
    const graph = await graphWithBudget();
    try {
      emulators.resetCounts();
      const greedy = await bearer('greedy-caller');
      const imeis = managedImeis().slice(0, QUOTA + 10);
      // The report's shape: many one-device management reads from one caller at concurrency 20.
      const answers = await mapSettled(
        imeis,
        20,
        async (imei) => (await graph.post(MANAGEMENT, { imei }, greedy)).body,
      );
      const bodies = answers.filter((a): a is GraphQLBody => !(a instanceof Error));
      const served = bodies.filter((b) => codes(b).length === 0);
      const refused = bodies.filter((b) => codes(b).includes('RATE_LIMITED'));
      expect(served).toHaveLength(QUOTA / 2);
      expect(refused).toHaveLength(imeis.length - QUOTA / 2);
      expect(refused[0]?.errors?.[0]?.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        upstream: 'KNOX_MANAGE',
        retryAfterSeconds: expect.any(Number),
      });
      // Refused by Fleetgraph, not sent: Knox Manage saw exactly the greedy caller's share.
      expect(emulators.requestCounts().knoxManage[KM_READ]).toBe(QUOTA / 2);

      const normal = await bearer('normal-caller');
      const other = managedImeis()[QUOTA + 20]!;
      const read = await graph.post(MANAGEMENT, { imei: other }, normal);
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data?.device).toMatchObject({ management: { status: expect.any(String) } });
      const user = emulators.fleet.users.find((u) => u.status === 'A')!;
      const signIn = await graph.post(
        `mutation ($u: ID!, $p: String!) { authenticateUser(userId: $u, password: $p) { authenticated } }`,
        { u: user.userId, p: SEEDED_USER_PASSWORD },
        normal,
      );
      expect(signIn.body.errors).toBeUndefined();
      expect(signIn.body.data?.authenticateUser).toEqual({ authenticated: true });
      const users = await graph.post('{ users(first: 5) { totalCount } }', {}, normal);
      expect(codes(users.body)).not.toContain('RATE_LIMITED');

      // The greedy caller is still refused for its own requests only.
      const again = await graph.post(MANAGEMENT, { imei: other }, greedy);
      expect(codes(again.body)).toEqual(['RATE_LIMITED']);
    } finally {
      await graph.stop();
    }
  });

  it('repeated reads of one device within the read cache TTL cost one Knox Manage call', async () => {
    const graph = await graphWithBudget({ READ_CACHE_TTL_MS: '5000' });
    try {
      emulators.resetCounts();
      const caller = await bearer('cached-caller');
      const imei = managedImeis()[QUOTA + 30]!;
      for (let i = 0; i < 5; i++) {
        const { body } = await graph.post(MANAGEMENT, { imei }, caller);
        expect(body.errors).toBeUndefined();
      }
      expect(emulators.requestCounts().knoxManage[KM_READ]).toBe(1);
    } finally {
      await graph.stop();
    }
  });
});
