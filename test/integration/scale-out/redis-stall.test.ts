import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { eventually } from '../../helpers/wait.js';
import { startLocalRedis } from '../../../examples/supergraph/local-redis.js';
import type { LocalRedis } from '../../../examples/supergraph/local-redis.js';

/**
 * Redis stops answering without closing its sockets (SIGSTOP: what DEBUG SLEEP, a GC-paused VM or a
 * partition look like). node-redis keeps a written command waiting for as long as that lasts; Fleetgraph's
 * own deadline turns it into STORE_UNAVAILABLE, device reads fall back to the upstreams, /readyz says the
 * store is DOWN — all while Redis is still stopped — and everything works again once it continues.
 */
const UPLOAD = 'POST /kdms/v1/devices/upload';
const BOX_LIST = 'POST /box/srv/1.1/admin/device/list';
const DEVICE_PAGE = '{ devices(first: 20) { edges { node { id management { status } access { name } } } } }';
const UPLOAD_MUTATION =
  'mutation ($imeis: [String!]) { uploadDevices(input: { imeis: $imeis }) { id uploadId status } }';
const JOB_QUERY = 'query ($id: ID!) { uploadJob(id: $id) { id status } }';

let redis: LocalRedis;
let emulators: RunningEmulators;
let graph: TestGraph;

const readyz = async () => {
  const response = await fetch(graph.url.replace('/graphql', '/readyz'));
  return { status: response.status, body: (await response.json()) as { store: Record<string, unknown> } };
};

beforeAll(async () => {
  redis = await startLocalRedis();
  emulators = await startTestEmulators({
    fleet: { size: 100, seed: 'stall' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  graph = await startTestGraph({
    sharedEmulators: emulators,
    env: { CACHE_URL: redis.url, READ_CACHE_TTL_MS: '600000' },
  });
});
afterAll(async () => {
  redis?.resume();
  await graph?.stop();
  await emulators?.stop();
  await redis?.stop();
});

describe('Redis stops answering (SIGSTOP) under a running replica', () => {
  let job: string;

  it('before: a job is stored and the device page is cached', async () => {
    const { body } = await graph.post(UPLOAD_MUTATION, { imeis: freshImeis(2) });
    expect(body.errors).toBeUndefined();
    job = (body.data?.uploadDevices as { id: string }).id;
    expect((await graph.post(DEVICE_PAGE)).body.errors).toBeUndefined();
    expect((await readyz()).body.store).toEqual({ backend: 'redis', target: redis.url, status: 'UP' });
  });

  it('while it is stopped: jobs answer STORE_UNAVAILABLE, reads come from the upstreams, /readyz says DOWN', async () => {
    redis.pause();
    try {
      emulators.resetCounts();
      const upload = await graph.post(UPLOAD_MUTATION, { imeis: freshImeis(2) });
      expect(upload.body.data).toBeNull();
      expect(upload.body.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(
            /^Fleetgraph's shared store is unreachable \(.*Redis.*\); upload jobs cannot be read or changed until it is back$/,
          ),
          extensions: expect.objectContaining({ code: 'STORE_UNAVAILABLE', reason: 'unreachable' }),
        }),
      ]);
      // Nothing is sent to KDMS unless the job can be recorded.
      expect(emulators.requestCounts().kdms[UPLOAD]).toBeUndefined();

      const read = await graph.post(JOB_QUERY, { id: job });
      expect(read.body.errors?.[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');

      // The page was cached in Redis; with Redis stopped it is read from Box again, once.
      const page = await graph.post(DEVICE_PAGE);
      expect(page.body.errors).toBeUndefined();
      expect((page.body.data?.devices as { edges: unknown[] }).edges).toHaveLength(20);
      expect(emulators.requestCounts().box[BOX_LIST]).toBe(1);

      const ready = await readyz();
      expect(ready.status).toBe(503);
      expect(ready.body.store).toEqual({
        backend: 'redis',
        target: redis.url,
        status: 'DOWN',
        error: expect.stringMatching(/has not answered/),
      });
    } finally {
      // Every answer above arrived while Redis was still stopped.
      redis.resume();
    }
  });

  it('when it continues: the store is UP again and the job is there', async () => {
    await eventually(async () => (await readyz()).body.store.status === 'UP', 'the store answering again');
    const { body } = await graph.post(JOB_QUERY, { id: job });
    expect(body.errors).toBeUndefined();
    expect(body.data?.uploadJob).toEqual({ id: job, status: 'PENDING' });
  });
});
