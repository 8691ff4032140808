import { loadConfig } from '../../../src/config/config.js';
import type { ResilienceConfig } from '../../../src/config/config.js';
import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import type { UpstreamBudgetConfig } from '../../../src/server/create-upstreams.js';
import { BoxClient } from '../../../src/upstreams/box/box.client.js';
import {
  DEFAULT_RESILIENCE,
  UpstreamCancelledError,
  UpstreamHttp,
} from '../../../src/upstreams/upstream-http.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { productionEnv, tokenWith } from '../../helpers/production-env.js';

/**
 * Issue 13, item 2: a slow endpoint must not starve its upstream. Box `listapps` is held by the emulator;
 * other Box endpoints and other APIs answer meanwhile, a call waits for a slot no longer than its
 * deadline, and work whose caller went away is cancelled (queued calls are never sent).
 */
const LISTAPPS = '/box/srv/1.1/admin/device/listapps';
const LISTAPPS_CALLS = `POST ${LISTAPPS}`;
const PER_ENDPOINT = 4;

let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 60, seed: 'slow-endpoint' } });
});
afterAll(() => emulators.stop());
afterEach(() => request('DELETE', `${emulators.urls.box}/_emulator/faults`));

const holdListApps = (latencyMs: number) =>
  request('PUT', `${emulators.urls.box}/_emulator/faults`, { latencyMs, paths: [LISTAPPS] });
const listAppsCalls = () => emulators.requestCounts().box[LISTAPPS_CALLS] ?? 0;
/** Steps the event loop until `done()` (bounded); no timing is asserted. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done()).toBe(true);
}
const boxDevices = () => emulators.fleet.devices.filter((d) => d.imei && d.kdms && d.box);

describe('a slow endpoint does not starve its upstream', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    const env = productionEnv(emulators, { BOX_TIMEOUT_MS: '20000', UPSTREAM_DEADLINE_MS: '25000' });
    const resilience: ResilienceConfig & Partial<UpstreamBudgetConfig> = {
      ...loadConfig(env).resilience,
      maxConcurrency: 2 * PER_ENDPOINT,
      maxConcurrencyPerEndpoint: PER_ENDPOINT,
    };
    graph = await startTestGraph({ sharedEmulators: emulators, env, config: { resilience } });
  });
  afterAll(() => graph.stop());

  it('a KDMS-only query and a one-device Box read answer while Box listapps is slow', async () => {
    const auth = { authorization: `Bearer ${await tokenWith('devices:read')}` };
    await holdListApps(3000);
    emulators.resetCounts();
    const [probe, ...slow] = boxDevices();
    let appsAnswered = 0;
    const apps = slow
      .slice(0, 3 * PER_ENDPOINT)
      .map((d) =>
        graph
          .post(`query ($imei: String) { device(imei: $imei) { apps { id } } }`, { imei: d.imei }, auth)
          .finally(() => (appsAnswered += 1)),
      );
    await until(() => listAppsCalls() === PER_ENDPOINT);

    const kdmsOnly = await graph.post(
      `query ($imei: String) { device(imei: $imei) { registration { deviceId } } }`,
      { imei: probe!.imei },
      auth,
    );
    expect(kdmsOnly.body.errors).toBeUndefined();
    expect(kdmsOnly.body.data?.device).toEqual({ registration: { deviceId: probe!.kdms!.deviceId } });
    const access = await graph.post(
      `query ($imei: String) { device(imei: $imei) { access { cuid } } }`,
      { imei: probe!.imei },
      auth,
    );
    expect(access.body.errors).toBeUndefined();
    expect(access.body.data?.device).toEqual({ access: { cuid: probe!.box!.cuid } });
    // Both answered while every listapps slot was still held and the rest still queued.
    expect(appsAnswered).toBe(0);
    expect(listAppsCalls()).toBe(PER_ENDPOINT);

    await request('DELETE', `${emulators.urls.box}/_emulator/faults`);
    const answers = await Promise.all(apps);
    expect(answers.every((a) => a.body.errors === undefined)).toBe(true);
    expect(listAppsCalls()).toBe(3 * PER_ENDPOINT);
  });
});

describe('deadlines and cancellation of one upstream call', () => {
  const boxOver = (http: UpstreamHttp) => new BoxClient(http, DEV_CREDENTIALS.box.apiKey);

  it('waiting for a slot counts against the deadline: the queued call fails without being sent', async () => {
    const http = new UpstreamHttp({
      upstream: 'BOX',
      baseUrl: emulators.urls.box,
      resilience: { deadlineMs: 300, retries: 0, maxConcurrency: 4, maxConcurrencyPerEndpoint: 1 },
    });
    await holdListApps(2000);
    emulators.resetCounts();
    const [a, b] = boxDevices();
    const outcomes = await Promise.allSettled([
      boxOver(http).listApps(a!.box!.cuid),
      boxOver(http).listApps(b!.box!.cuid),
    ]);
    expect(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'ok')),
    ).toEqual(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE']);
    expect(listAppsCalls()).toBe(1);
  });

  it('a caller that went away: its queued calls are never sent and the one in flight is cut off', async () => {
    const http = new UpstreamHttp({
      upstream: 'BOX',
      baseUrl: emulators.urls.box,
      resilience: {
        maxConcurrency: 4,
        maxConcurrencyPerEndpoint: 2,
        breaker: { ...DEFAULT_RESILIENCE.breaker, volumeThreshold: 1 },
      },
    });
    await holdListApps(3000);
    emulators.resetCounts();
    const caller = new AbortController();
    const box = boxOver(http.forRequest({ signal: caller.signal }));
    const calls = boxDevices()
      .slice(0, 6)
      .map((d) => box.listApps(d.box!.cuid));
    await until(() => listAppsCalls() === 2);
    caller.abort();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof UpstreamCancelledError)).toBe(
      true,
    );
    await request('DELETE', `${emulators.urls.box}/_emulator/faults`);
    // The upstream is not blamed for cancelled calls, and the queued four were never sent.
    expect(http.breakerState).toBe('closed');
    expect(await boxOver(http).readDevice(boxDevices()[0]!.box!.cuid)).toMatchObject({
      cuid: expect.any(String),
    });
    expect(listAppsCalls()).toBe(2);
  });

  it('adaptive concurrency: halves on each 429, grows back one slot per window of successes', async () => {
    const http = new UpstreamHttp({
      upstream: 'BOX',
      baseUrl: emulators.urls.box,
      resilience: { retries: 2, maxConcurrency: 8, maxConcurrencyPerEndpoint: 8 },
    });
    const cuid = boxDevices()[0]!.box!.cuid;
    await request('PUT', `${emulators.urls.box}/_emulator/faults`, {
      rateLimitNext: 3,
      retryAfterSeconds: 0,
    });
    await expect(boxOver(http).readDevice(cuid)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(http.concurrencyLimit).toBe(1);
    // 1 + 2 + … + 7 successes bring it from 1 back to 8.
    for (let i = 0; i < 28; i++) await boxOver(http).readDevice(cuid);
    expect(http.concurrencyLimit).toBe(8);
  });
});
