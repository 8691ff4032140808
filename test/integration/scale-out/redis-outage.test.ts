import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { startLocalRedis } from '../../../examples/supergraph/local-redis.js';
import type { LocalRedis } from '../../../examples/supergraph/local-redis.js';
import { eventually } from '../../helpers/wait.js';

/**
 * Redis (CACHE_URL) goes away under a running replica and comes back. Jobs refuse with a clear
 * STORE_UNAVAILABLE and nothing reaches KDMS; device reads go on without the shared cache; /readyz says
 * degraded; nothing crashes; when Redis returns (with its data, as a persistent Redis does) everything
 * works again, including a job KDMS accepted in the moment Redis went away.
 */
const UPLOAD = 'POST /kdms/v1/devices/upload';
const DEVICE_PAGE = '{ devices(first: 20) { edges { node { id management { status } access { name } } } } }';
const UPLOAD_MUTATION =
  'mutation ($imeis: [String!]) { uploadDevices(input: { imeis: $imeis }) { id uploadId status } }';

let redis: LocalRedis;
let emulators: RunningEmulators;
let graph: TestGraph;

const readyz = async () => {
  const response = await fetch(graph.url.replace('/graphql', '/readyz'));
  return { status: response.status, body: (await response.json()) as { store: unknown } };
};
const storeIs = (status: 'UP' | 'DOWN') => () => graph.fleetgraph.server.stores.health().status === status;
const uploads = () => emulators.requestCounts().kdms[UPLOAD] ?? 0;

beforeAll(async () => {
  redis = await startLocalRedis({ persistent: true });
  emulators = await startTestEmulators({
    fleet: { size: 100, seed: 'outage' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    // A fast poller, so the job kept while Redis was away is recorded soon after it returns.
    env: { CACHE_URL: redis.url, READ_CACHE_TTL_MS: '10000', JOB_POLL_INTERVAL_MS: '100' },
  });
});
afterAll(async () => {
  await graph?.stop();
  await emulators?.stop();
  await redis?.stop();
});

describe('Redis stops under a running replica', () => {
  let pendingJob: string;
  let pendingUpload: string;

  it('before: a job is stored and reads work', async () => {
    const { body } = await graph.post(UPLOAD_MUTATION, { imeis: freshImeis(2) });
    expect(body.errors).toBeUndefined();
    pendingJob = (body.data?.uploadDevices as { id: string }).id;
    pendingUpload = (body.data?.uploadDevices as { uploadId: string }).uploadId;
    expect((await graph.post(DEVICE_PAGE)).body.errors).toBeUndefined();
  });

  it('while it is away: jobs refuse with STORE_UNAVAILABLE and nothing is sent to KDMS', async () => {
    await redis.kill();
    await eventually(storeIs('DOWN'), 'the replica noticing Redis is gone');
    emulators.resetCounts();

    const upload = await graph.post(UPLOAD_MUTATION, { imeis: freshImeis(2) });
    expect(upload.body.data).toBeNull();
    expect(upload.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(
          /^Fleetgraph's shared store is unreachable \(.+\); upload jobs cannot be read or changed until it is back$/,
        ),
        extensions: expect.objectContaining({ code: 'STORE_UNAVAILABLE', reason: 'unreachable' }),
      }),
    ]);
    expect(uploads()).toBe(0);

    const read = await graph.post('query ($id: ID!) { uploadJob(id: $id) { id status } }', {
      id: pendingJob,
    });
    expect(read.body.errors?.[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');
  });

  it('while it is away: device reads still answer, from the upstreams', async () => {
    emulators.resetCounts();
    const { body } = await graph.post(DEVICE_PAGE);
    expect(body.errors).toBeUndefined();
    expect((body.data?.devices as { edges: unknown[] }).edges).toHaveLength(20);
    // The shared read cache is away, so Box's list is read again; the token this process holds still works.
    expect(emulators.requestCounts().box['POST /box/srv/1.1/admin/device/list']).toBe(1);
    expect(emulators.requestCounts().kdms['POST /ams/v1/oauth2/token']).toBeUndefined();
    // …and /metrics counts the cache operations that fell back.
    const metrics = await (await fetch(graph.url.replace('/graphql', '/metrics'))).text();
    const fellBack = /^fleetgraph_store_errors_total\{purpose="reads"\} (\d+)$/m.exec(metrics);
    expect(Number(fellBack?.[1])).toBeGreaterThan(0);
  });

  it('while it is away: /readyz answers 503 naming the store, /healthz stays ok', async () => {
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body.store).toEqual({
      backend: 'redis',
      target: redis.url,
      status: 'DOWN',
      error: 'not connected; reconnecting',
    });
    expect((await fetch(graph.url.replace('/graphql', '/healthz'))).status).toBe(200);
  });

  it('while it is away: a Knox callback is answered 503, so Knox delivers it again later', async () => {
    // KDMS calls this replica back (it subscribed at start); KDMS itself is up.
    await emulators.kdms.settlePending();
    const delivery = emulators.kdms.deliveries.find((d) => d.uploadId === pendingUpload);
    expect(delivery).toMatchObject({ outcome: 'failed', lastStatus: 503 });
  });

  it('when it returns: jobs are there again, and the pending one settles', async () => {
    await redis.restart();
    await eventually(storeIs('UP'), 'the replica reconnecting to Redis');
    expect((await readyz()).status).toBe(200);
    const read = await graph.sdk.UploadJob({ id: pendingJob });
    expect(read.uploadJob).toMatchObject({ id: pendingJob, status: 'PENDING' });
    // Knox gave up on the callback; the poller settles the job from KDMS (here without waiting for its deadline).
    await graph.fleetgraph.server.jobs.settleOverdue(0);
    expect((await graph.sdk.UploadJob({ id: pendingJob })).uploadJob).toMatchObject({
      status: 'COMPLETED',
      settledBy: 'POLLING',
    });
    const { body } = await graph.post(UPLOAD_MUTATION, { imeis: freshImeis(1) });
    expect(body.errors).toBeUndefined();
  });
});

describe('Redis stops while KDMS is accepting an upload', () => {
  it("the caller is told the job id; KDMS's answer is recorded once Redis returns and the job settles", async () => {
    await request('PUT', `${emulators.urls.kdms}/_emulator/faults`, {
      latencyMs: 300,
      paths: ['/kdms/v1/devices/upload'],
    });
    emulators.resetCounts();
    try {
      const imeis = freshImeis(3);
      const answer = graph.post(UPLOAD_MUTATION, { imeis });
      await eventually(() => uploads() === 1, 'the upload reaching KDMS');
      await redis.kill();
      const { body } = await answer;
      const error = body.errors?.[0];
      expect(error?.extensions).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        jobId: expect.any(String),
        uploadId: expect.any(String),
      });
      const { jobId, uploadId } = error!.extensions as { jobId: string; uploadId: string };
      expect(error?.message).toContain(`KDMS accepted the upload (uploadId ${uploadId}) as job ${jobId}`);
      expect(error?.message).toContain(`uploadJob(id: "${jobId}")`);

      await redis.restart();
      // The job was recorded before KDMS was called; once Redis is back, KDMS's answer is too.
      const recorded = await eventually(async () => {
        const { body: read } = await graph.post(
          'query ($id: ID!) { uploadJob(id: $id) { id uploadId status requested } }',
          { id: jobId },
        );
        const job = read.data?.uploadJob as { status: string } | null;
        return job?.status === 'PENDING' ? job : undefined;
      }, 'the poller recording the answer');
      expect(recorded).toEqual({ id: jobId, uploadId, status: 'PENDING', requested: 3 });
      await emulators.kdms.settlePending();
      await eventually(
        async () => (await graph.sdk.UploadJob({ id: jobId })).uploadJob?.status === 'COMPLETED',
        'the callback settling the recorded job',
      );
    } finally {
      await request('DELETE', `${emulators.urls.kdms}/_emulator/faults`);
    }
  });
});

describe('Redis unreachable at start', () => {
  it('fails start-up with a message naming CACHE_URL, without its password', async () => {
    const gone = await startLocalRedis();
    const port = gone.port;
    await gone.stop();
    await expect(
      startTestGraph({
        sharedEmulators: emulators,
        env: { CACHE_URL: `redis://:hunter2@127.0.0.1:${port}`, CACHE_CONNECT_TIMEOUT_MS: '300' },
      }),
    ).rejects.toThrow(new RegExp(`^Cannot reach Redis at CACHE_URL \\(redis://127\\.0\\.0\\.1:${port}\\): `));
  });
});
