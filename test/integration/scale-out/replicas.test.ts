import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { postForm, request } from '../../helpers/http.js';
import { subscribeToJob } from '../../helpers/job-subscriber.js';
import { startLocalRedis } from '../../../examples/supergraph/local-redis.js';
import type { LocalRedis } from '../../../examples/supergraph/local-redis.js';

/**
 * Two Fleetgraph replicas on one real Redis (CACHE_URL) in front of the same emulators: tokens, jobs
 * and job events are shared. KDMS settles uploads only when a test says so, so nothing waits on a clock.
 */
const KDMS_TOKEN = 'POST /ams/v1/oauth2/token';
const KNOX_MANAGE_TOKEN = 'POST /emm/oauth/token';

let redis: LocalRedis;
let emulators: RunningEmulators;
let a: TestGraph;
let b: TestGraph;

const replica = () =>
  startTestGraph({
    sharedEmulators: emulators,
    // The read cache on, as in production: it is shared too.
    env: { CACHE_URL: redis.url, READ_CACHE_TTL_MS: '10000' },
  });
const webhookOf = (graph: TestGraph) =>
  graph.url.replace('localhost', '127.0.0.1').replace('/graphql', '/webhooks/knox');
/** Points KDMS's callbacks at one replica, as a load balancer in front of them would pick one. */
const callbacksTo = (graph: TestGraph) => graph.fleetgraph.server.jobs.ensureSubscription(webhookOf(graph));
const tokenRequests = () => {
  const counts = emulators.requestCounts();
  return { kdms: counts.kdms[KDMS_TOKEN] ?? 0, knoxManage: counts.knoxManage[KNOX_MANAGE_TOKEN] ?? 0 };
};
const DEVICE_PAGE =
  '{ devices(first: 20) { edges { node { id registration { deviceId } management { status } } } } }';

beforeAll(async () => {
  redis = await startLocalRedis();
  emulators = await startTestEmulators({
    fleet: { size: 200, seed: 'replicas' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  // Both at once: each subscribes to KWN at start, so both need a KDMS token at the same moment.
  [a, b] = await Promise.all([replica(), replica()]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await emulators?.stop();
  await redis?.stop();
});

describe('two replicas on one Redis', () => {
  it('fetch one token per upstream between them, also when both need a new one at once', async () => {
    const [fromA, fromB] = await Promise.all([a.post(DEVICE_PAGE), b.post(DEVICE_PAGE)]);
    expect(fromA.body.errors).toBeUndefined();
    expect(fromB.body.errors).toBeUndefined();
    expect(fromA.body.data).toEqual(fromB.body.data);
    expect(tokenRequests()).toEqual({ kdms: 1, knoxManage: 1 });
    const perReplica = [a, b].map((g) => g.fleetgraph.server.upstreams.tokenProviders.kdms.tokenRequests);
    expect(perReplica.reduce((x, y) => x + y, 0)).toBe(1);

    // KDMS and Knox Manage revoke every token: both replicas get 401 at once, one of them refreshes.
    await request('POST', `${emulators.urls.kdms}/_emulator/tokens/expire`);
    await request('POST', `${emulators.urls.knoxManage}/_emulator/tokens/expire`);
    emulators.resetCounts();
    // One device: KDMS and Knox Manage are read per device, never from the read cache.
    const imei = emulators.fleet.devices.find((d) => d.imei && d.kdms && d.knoxManage)!.imei!;
    const oneDevice = `{ device(imei: "${imei}") { registration { deviceId } management { status } } }`;
    const again = await Promise.all([a.post(oneDevice), b.post(oneDevice)]);
    for (const { body } of again) expect(body.errors).toBeUndefined();
    expect(tokenRequests()).toEqual({ kdms: 1, knoxManage: 1 });
  });

  it('set up the Knox webhook subscription together without tripping over each other', async () => {
    // KWN allows one subscription per event: two replicas that both find none must not both create one.
    const token = (
      await postForm<{ access_token: string }>(`${emulators.urls.kdms}/ams/v1/oauth2/token`, {
        grant_type: 'client_credentials',
        client_id: DEV_CREDENTIALS.kdms.clientId,
        client_secret: DEV_CREDENTIALS.kdms.clientSecret,
      })
    ).json.access_token;
    const auth = { authorization: `Bearer ${token}` };
    const subscriptions = `${emulators.urls.kdms}/kwn/v1/subscriptions`;
    const list = async () =>
      (
        await request<{ subscriptions: Array<{ subscriptionId: string; events: string[] }> }>(
          'GET',
          subscriptions,
          undefined,
          auth,
        )
      ).json.subscriptions;
    for (const { subscriptionId } of await list())
      await request('DELETE', `${subscriptions}/${subscriptionId}`, undefined, auth);

    const outcomes = await Promise.all([callbacksTo(a), callbacksTo(b)]);
    expect(outcomes.sort()).toEqual(['created', 'updated']);
    expect((await list()).flatMap((s) => s.events).sort()).toEqual([
      'KDMS_DEVICE_DELETE',
      'KDMS_DEVICE_UPLOAD',
    ]);
  });

  it('share the read cache: the Box device list A read is not read again for B', async () => {
    const accessPage = '{ devices(first: 20) { edges { node { id access { name } } } } }';
    emulators.resetCounts();
    const fromA = await a.post(accessPage);
    expect(emulators.requestCounts().box).toEqual({ 'POST /box/srv/1.1/admin/device/list': 1 });
    emulators.resetCounts();
    const fromB = await b.post(accessPage);
    expect(fromB.body).toEqual(fromA.body);
    expect(emulators.requestCounts().box).toEqual({});
  });

  it('a job created through A is read through B, and listed there', async () => {
    const imeis = freshImeis(3);
    const { uploadDevices: job } = await a.sdk.UploadDevices({ input: { imeis } });
    const { uploadJob } = await b.sdk.UploadJob({ id: job.id });
    expect(uploadJob).toMatchObject({ id: job.id, status: 'PENDING', requested: 3 });
    const { uploadJobs } = await b.sdk.UploadJobs({ status: 'PENDING', first: 50 });
    expect(uploadJobs!.edges.map((e) => e.node.id)).toContain(job.id);
  });

  it('a webhook that reaches A wakes a subscriber on B', async () => {
    await callbacksTo(a);
    const { uploadDevices: job } = await b.sdk.UploadDevices({ input: { imeis: freshImeis(5) } });
    const subscriber = subscribeToJob(b.url, job.id);
    try {
      await subscriber.waitFor('PENDING');
      await emulators.kdms.settlePending();
      await subscriber.waitFor('COMPLETED');
      expect(subscriber.statuses).toEqual(['PENDING', 'COMPLETED']);
    } finally {
      await subscriber.close();
    }
    const { body } = await b.post('query ($id: ID!) { uploadJob(id: $id) { uploadId } }', { id: job.id });
    const uploadId = (body.data?.uploadJob as { uploadId: string }).uploadId;
    const delivered = emulators.kdms.deliveries.filter((d) => d.uploadId === uploadId);
    expect(delivered.map((d) => [d.callbackUrl, d.outcome])).toEqual([[webhookOf(a), 'delivered']]);
    expect((await b.sdk.UploadJob({ id: job.id })).uploadJob).toMatchObject({
      status: 'COMPLETED',
      settledBy: 'WEBHOOK',
      succeeded: 5,
    });
  });
});

describe('a replica that stops mid-job', () => {
  it('leaves the job to the other: B applies the callback A can no longer take', async () => {
    const c = await replica();
    const { uploadDevices: job } = await c.sdk.UploadDevices({ input: { imeis: freshImeis(4) } });
    const subscriber = subscribeToJob(b.url, job.id);
    try {
      await subscriber.waitFor('PENDING');
      await c.stop();
      // The load balancer now sends Knox's callbacks to the replica that is left.
      await callbacksTo(b);
      await emulators.kdms.settlePending();
      await subscriber.waitFor('COMPLETED');
    } finally {
      await subscriber.close();
    }
    expect((await b.sdk.UploadJob({ id: job.id })).uploadJob).toMatchObject({
      status: 'COMPLETED',
      settledBy: 'WEBHOOK',
    });
  });

  it('leaves the job to the other: with no callback at all, B settles it by polling KDMS', async () => {
    const c = await replica();
    await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookMode: 'drop' });
    try {
      const { uploadDevices: job } = await c.sdk.UploadDevices({ input: { imeis: freshImeis(4) } });
      await c.stop();
      await emulators.kdms.settlePending();
      // What B's poller runs on each tick, with the callback deadline already passed.
      await b.fleetgraph.server.jobs.settleOverdue(0);
      expect((await b.sdk.UploadJob({ id: job.id })).uploadJob).toMatchObject({
        status: 'COMPLETED',
        settledBy: 'POLLING',
        succeeded: 4,
      });
    } finally {
      await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookMode: 'deliver' });
    }
  });
});
