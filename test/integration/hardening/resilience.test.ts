import { deviceIdOf } from '../../../src/domain/device-ref.js';
import { SCOPES } from '../../../src/domain/scopes.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { productionEnv, tokenWith } from '../../helpers/production-env.js';

/**
 * Upstream failures injected by the emulators: the graph answers what it can, names what failed,
 * retries reads (never writes) and stops calling an upstream that keeps failing.
 */
let emulators: RunningEmulators;
let graph: TestGraph;
let auth: Record<string, string>;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 40, seed: 'resilience' } });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    env: productionEnv(emulators, { BOX_TIMEOUT_MS: '300', UPSTREAM_RETRIES: '2', BREAKER_VOLUME: '1000' }),
  });
  auth = { authorization: `Bearer ${await tokenWith(...Object.values(SCOPES))}` };
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});
beforeEach(() => emulators.resetCounts());
afterEach(async () => {
  for (const url of Object.values(emulators.urls)) await request('DELETE', `${url}/_emulator/faults`);
});

const seeded = () => emulators.fleet.devices.find((d) => d.imei && d.kdms && d.knoxManage && d.box)!;
const DETAIL = `query ($imei: String) { device(imei: $imei) { imei registration { deviceId } management { status } access { name } } }`;
const detail = async (): Promise<GraphQLBody> =>
  (await graph.post(DETAIL, { imei: seeded().imei }, auth)).body;
const faults = (api: 'kdms' | 'knoxManage' | 'box', settings: Record<string, unknown>) =>
  request('PUT', `${emulators.urls[api]}/_emulator/faults`, settings);
const calls = (api: 'kdms' | 'knoxManage' | 'box', endpoint: string) =>
  emulators.requestCounts()[api][endpoint] ?? 0;

describe('partial results with the right error codes', () => {
  it('Box down (connection refused): KDMS and Knox Manage data, UPSTREAM_UNAVAILABLE on access', async () => {
    const downBox = await startTestGraph({
      sharedEmulators: emulators,
      env: productionEnv(emulators, { BOX_URL: 'http://127.0.0.1:9', UPSTREAM_RETRIES: '0' }),
    });
    try {
      const { status, body } = await downBox.post(DETAIL, { imei: seeded().imei }, auth);
      expect(status).toBe(200);
      expect(body.data?.device).toMatchObject({
        registration: { deviceId: seeded().kdms!.deviceId },
        management: { status: expect.any(String) },
        access: null,
      });
      expect(body.errors).toEqual([
        expect.objectContaining({
          path: ['device', 'access'],
          extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', upstream: 'BOX' }),
        }),
      ]);
      expect(body.errors?.[0]?.message).toMatch(/Box is unreachable \(ECONNREFUSED\)/);
    } finally {
      await downBox.stop();
    }
  });

  it('Box slow beyond its timeout: UPSTREAM_UNAVAILABLE on the Box path only', async () => {
    await faults('box', { latencyMs: 5000 });
    const body = await detail();
    expect(body.data?.device).toMatchObject({ management: { status: expect.any(String) }, access: null });
    expect(body.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.upstream])).toEqual([
      ['device.access', 'UPSTREAM_UNAVAILABLE', 'BOX'],
    ]);
    expect(body.errors?.[0]?.message).toMatch(/ETIMEDOUT|timed out|Timeout/i);
  });

  it('Knox Manage 429 with a long Retry-After: RATE_LIMITED with retryAfterSeconds, not waited for', async () => {
    await faults('knoxManage', { rateLimitNext: 10, retryAfterSeconds: 30 });
    const body = await detail();
    expect(body.data?.device).toMatchObject({
      registration: { deviceId: seeded().kdms!.deviceId },
      management: null,
    });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      upstream: 'KNOX_MANAGE',
      upstreamStatus: 429,
      retryAfterSeconds: 30,
    });
  });

  it('429 with a short Retry-After and a passing 500 are retried for reads, and succeed', async () => {
    await faults('knoxManage', { rateLimitNext: 1, retryAfterSeconds: 0 });
    await faults('box', { failNext: 1 });
    const body = await detail();
    expect(body.errors).toBeUndefined();
    expect(calls('box', 'POST /box/srv/1.1/admin/device/read')).toBe(2);
    expect(calls('knoxManage', 'POST /emm/oapi/device/selectDeviceInfoByImei')).toBe(2);
  });

  it('a persistent 500: three attempts (two retries), then UPSTREAM_UNAVAILABLE with the status', async () => {
    await faults('box', { errorRate: 1 });
    const body = await detail();
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      upstream: 'BOX',
      upstreamStatus: 500,
    });
    expect(calls('box', 'POST /box/srv/1.1/admin/device/read')).toBe(3);
  });

  it('malformed JSON from KDMS: UPSTREAM_ERROR on the KDMS path', async () => {
    await faults('kdms', { malformedJsonNext: 1, paths: ['/kdms/v1/devices/getDevices'] });
    const { body } = await graph.post(
      'query ($imei: String) { device(imei: $imei) { imei registration { deviceId } } }',
      { imei: seeded().imei },
      auth,
    );
    // Knox Manage and Box still find the device: the KDMS error is on the KDMS field only.
    expect(body.data?.device).toMatchObject({ imei: seeded().imei, registration: null });
    expect(body.errors?.[0]?.path).toEqual(['device', 'registration']);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', upstream: 'KDMS' });
    expect(body.errors?.[0]?.message).toMatch(/malformed JSON/);
  });

  it('an expired token: refreshed once, the call succeeds', async () => {
    await detail();
    await request('POST', `${emulators.urls.knoxManage}/_emulator/tokens/expire`);
    emulators.resetCounts();
    const body = await detail();
    expect(body.errors).toBeUndefined();
    expect(calls('knoxManage', 'POST /emm/oauth/token')).toBe(1);
  });

  it('never answers with an upstream HTTP status', async () => {
    await faults('box', { errorRate: 1, errorStatus: 503 });
    const { status } = await graph.post(DETAIL, { imei: seeded().imei }, auth);
    expect(status).toBe(200);
  });
});

describe('writes are never retried', () => {
  it.each([
    [
      'Box update',
      'box',
      'POST /box/srv/1.1/admin/device/update',
      () => `mutation { updateDeviceAccess(id: "${deviceIdOf(seeded())}", input: { name: "x" }) { id } }`,
    ],
    [
      'KDMS upload',
      'kdms',
      'POST /kdms/v1/devices/upload',
      () => 'mutation { uploadDevices(input: { imeis: ["490154203237518"] }) { id } }',
    ],
    [
      'KDMS delete',
      'kdms',
      'POST /kdms/v1/devices/delete',
      () => 'mutation { deleteDevices(input: { imeis: ["490154203237518"] }) { id } }',
    ],
    [
      'Knox Manage authenticate',
      'knoxManage',
      'POST /emm/oapi/auth/authenticate',
      () =>
        `mutation { authenticateUser(userId: "${emulators.fleet.users[0]!.userId}", password: "Fleetgraph-dev-1!") { authenticated } }`,
    ],
  ] as Array<[string, 'kdms' | 'knoxManage' | 'box', string, () => string]>)(
    '%s fails once and is not sent again',
    async (_what, api, endpoint, mutation) => {
      await faults(api, { errorRate: 1, errorStatus: 503, paths: [endpoint.split(' ')[1]!] });
      const { status, body } = await graph.post(mutation(), {}, auth);
      expect(status).toBe(200);
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        upstreamStatus: 503,
      });
      expect(calls(api, endpoint)).toBe(1);
    },
  );
});

describe('circuit breaker', () => {
  it('opens after repeated failures (no more calls), and closes again once the upstream recovers', async () => {
    const breaking = await startTestGraph({
      sharedEmulators: emulators,
      env: productionEnv(emulators, {
        UPSTREAM_RETRIES: '0',
        BREAKER_VOLUME: '3',
        BREAKER_ERROR_PERCENT: '50',
        BREAKER_RESET_MS: '200',
      }),
    });
    try {
      await faults('box', { errorRate: 1 });
      for (let i = 0; i < 4; i++) await breaking.post(DETAIL, { imei: seeded().imei }, auth);
      expect(breaking.fleetgraph.server.upstreams.http.box.breakerState).toBe('open');
      const before = calls('box', 'POST /box/srv/1.1/admin/device/read');
      const failedFast = await breaking.post(DETAIL, { imei: seeded().imei }, auth);
      expect(failedFast.body.errors?.[0]?.message).toMatch(/circuit breaker is open/);
      expect(calls('box', 'POST /box/srv/1.1/admin/device/read')).toBe(before);
      const ready = await fetch(breaking.url.replace('/graphql', '/readyz'));
      expect(
        ((await ready.json()) as { upstreams: Array<{ upstream: string; breaker: string }> }).upstreams.find(
          (u) => u.upstream === 'BOX',
        )?.breaker,
      ).toBe('open');

      await request('DELETE', `${emulators.urls.box}/_emulator/faults`);
      // After BREAKER_RESET_MS the breaker lets one trial call through; bounded polling, no timing assertion.
      let recovered: GraphQLBody | null = null;
      for (let i = 0; i < 50 && !recovered; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const { body } = await breaking.post(DETAIL, { imei: seeded().imei }, auth);
        if (!body.errors) recovered = body;
      }
      expect(recovered?.data?.device).toMatchObject({ access: { name: expect.any(String) } });
      expect(breaking.fleetgraph.server.upstreams.http.box.breakerState).toBe('closed');
    } finally {
      await breaking.stop();
    }
  });
});
