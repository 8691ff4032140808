import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import { SEEDED_USER_PASSWORD } from '../../../src/emulators/fleet/seeded-fleet.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { SCOPES } from '../../../src/domain/scopes.js';
import { deviceIdOf } from '../../../src/domain/device-ref.js';
import { createLogger } from '../../../src/observability/logger.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { TEST_JWT_SECRET, productionEnv, tokenWith } from '../../helpers/production-env.js';

/** Health, readiness, metrics, request ids, and logs that never hold a secret, over a full run. */
let emulators: RunningEmulators;
let graph: TestGraph;
let token: string;
const logLines: string[] = [];
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 40, seed: 'observability' } });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    env: productionEnv(emulators, { LOG_LEVEL: 'debug', READ_CACHE_TTL_MS: '60000' }),
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
  });
  token = await tokenWith(...Object.values(SCOPES));
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});

const auth = () => ({ authorization: `Bearer ${token}` });
const base = () => graph.url.replace('/graphql', '');

describe('health and metrics', () => {
  it('/healthz answers while the process lives; /readyz checks each upstream and its breaker', async () => {
    expect(await (await fetch(`${base()}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      probedAt: expect.stringMatching(/^\d{4}-/),
      upstreams: ['KDMS', 'KNOX_MANAGE', 'BOX'].map((upstream) => ({
        upstream,
        status: 'UP',
        latencyMs: expect.any(Number),
        message: null,
        breaker: 'closed',
        // This graph runs with the fleet index off (test/helpers/graph.ts); fleet-index suites cover it on.
        sync: null,
      })),
      store: { backend: 'memory', status: 'UP' },
      auth: { status: 'NOT_USED', keys: 0, lastRefreshAt: null, error: null },
      fleetIndex: { status: 'OFF' },
    });
  });

  it('/metrics exposes GraphQL, upstream, loader and cache metrics', async () => {
    await graph.post(
      'query FleetPage { devices(first: 20) { edges { node { id management { status } access { name } apps { name } } } } }',
      {},
      auth(),
    );
    const text = await (await fetch(`${base()}/metrics`)).text();
    expect(text).toMatch(/fleetgraph_graphql_requests_total\{operation="FleetPage",outcome="ok"\} 1/);
    expect(text).toMatch(
      /fleetgraph_upstream_requests_total\{upstream="BOX",endpoint="POST \/box\/srv\/1.1\/admin\/device\/list",status="200"\} \d+/,
    );
    expect(text).toMatch(/fleetgraph_upstream_duration_seconds_bucket\{le="0.005",upstream="KDMS"/);
    expect(text).toMatch(/fleetgraph_upstream_breaker_open/);
    expect(text).toMatch(/fleetgraph_loader_batch_size_count\{loader="accessByCuid"\} \d+/);
    expect(text).toMatch(/fleetgraph_cache_lookups_total\{cache="box:devices",result="miss"\} \d+/);
  });
});

describe('request ids', () => {
  it('answers with the request id and forwards it on every upstream call', async () => {
    const response = await fetch(graph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abc-123', ...auth() },
      body: JSON.stringify({
        query: `{ device(imei: "${emulators.fleet.devices.find((d) => d.imei)!.imei}") { model management { status } } }`,
      }),
    });
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    for (const url of [emulators.urls.kdms, emulators.urls.knoxManage]) {
      const { json } = await request<{ requestIds: string[] }>('GET', `${url}/_emulator/request-ids`);
      expect(json.requestIds).toContain('trace-abc-123');
    }
    expect(logLines.some((l) => l.includes('"requestId":"trace-abc-123"'))).toBe(true);
  });
});

describe('secrets', () => {
  it('never reach the logs over a full run (tokens, client secrets, API key, JWTs, passwords)', async () => {
    const user = emulators.fleet.users.find((u) => u.status === 'A')!;
    const device = emulators.fleet.devices.find((d) => d.imei && d.box)!;
    const runs = [
      '{ devices(first: 30) { edges { node { id model management { status owner { name } } access { name } apps { name } users { userId } } } } }',
      `mutation { authenticateUser(userId: "${user.userId}", password: "${SEEDED_USER_PASSWORD}") { authenticated } }`,
      `mutation { updateDeviceAccess(id: "${deviceIdOf(device)}", input: { loginBlocked: true }) { id } }`,
      `mutation { uploadDevices(input: { imeis: ["${freshImeis(1)[0]}"] }) { id } }`,
      '{ upstreams { status } }',
    ];
    for (const query of runs) await graph.post(query, {}, auth());
    await graph.post(
      '{ devices(first: 1) { edges { cursor } } }',
      {},
      { authorization: 'Bearer not.a.validtoken' },
    );
    await request('POST', `${emulators.urls.knoxManage}/_emulator/tokens/expire`);
    await graph.post('{ users(first: 1) { totalCount } }', {}, auth());
    const upstreamTokens = await Promise.all([
      graph.fleetgraph.server.upstreams.tokenProviders.kdms.getToken(),
      graph.fleetgraph.server.upstreams.tokenProviders.knoxManage.getToken(),
    ]);
    const secrets = [
      DEV_CREDENTIALS.kdms.clientSecret,
      DEV_CREDENTIALS.knoxManage.clientSecret,
      DEV_CREDENTIALS.box.apiKey,
      TEST_JWT_SECRET,
      token,
      token.split('.')[2]!,
      SEEDED_USER_PASSWORD,
      ...upstreamTokens,
    ];
    const logs = logLines.join('');
    expect(logLines.length).toBeGreaterThan(20);
    expect(secrets.filter((secret) => logs.includes(secret))).toEqual([]);
  });

  it('passes authenticateUser passwords straight through: never cached (each call reaches Knox Manage)', async () => {
    const user = emulators.fleet.users.find((u) => u.status === 'A')!;
    emulators.resetCounts();
    const mutation = `mutation { authenticateUser(userId: "${user.userId}", password: "${SEEDED_USER_PASSWORD}") { authenticated } }`;
    await graph.post(mutation, {}, auth());
    await graph.post(mutation, {}, auth());
    expect(emulators.requestCounts().knoxManage['POST /emm/oapi/auth/authenticate']).toBe(2);
  });
});
