import { createClient } from '@keyv/redis';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { subscribeToJob } from '../../helpers/job-subscriber.js';
import { eventually } from '../../helpers/wait.js';
import { startLocalRedis } from '../../../examples/supergraph/local-redis.js';
import type { LocalRedis } from '../../../examples/supergraph/local-redis.js';

/**
 * Two replicas on one real Redis; the pub/sub connections drop (`CLIENT KILL TYPE pubsub`) and cannot
 * come back (maxclients) while the job settles through A, so B's subscription misses the message for
 * certain. Once B's pub/sub reconnects, its subscriber re-reads the job and gets COMPLETED.
 */
let redis: LocalRedis;
let emulators: RunningEmulators;
let a: TestGraph;
let b: TestGraph;
/** The test's own connection, opened first, so it still works while Redis takes no new ones. */
let control: ReturnType<typeof createClient>;

const replica = () => startTestGraph({ sharedEmulators: emulators, env: { CACHE_URL: redis.url } });
const webhookOf = (graph: TestGraph) =>
  graph.url.replace('localhost', '127.0.0.1').replace('/graphql', '/webhooks/knox');

beforeAll(async () => {
  redis = await startLocalRedis();
  control = createClient({ url: redis.url });
  await control.connect();
  emulators = await startTestEmulators({
    fleet: { size: 50, seed: 'pubsub' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  [a, b] = await Promise.all([replica(), replica()]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await control?.close();
  await emulators?.stop();
  await redis?.stop();
});

const clients = async () => (await control.sendCommand(['CLIENT', 'LIST'])) as string;

describe('a pub/sub connection that drops while a job settles', () => {
  it('a subscriber on B sees COMPLETED after the drop', async () => {
    await a.fleetgraph.server.jobs.ensureSubscription(webhookOf(a));
    const { uploadDevices: job } = await b.sdk.UploadDevices({ input: { imeis: freshImeis(3) } });
    const subscriber = subscribeToJob(b.url, job.id);
    try {
      await subscriber.waitFor('PENDING');
      const list = await clients();
      const total = list.trim().split('\n').length;
      const pubsub = list.split('\n').filter((line) => / sub=[1-9]/.test(line)).length;
      expect(pubsub).toBe(2); // one per replica
      // No new connection until the job has settled: the pub/sub connections stay away.
      await control.sendCommand(['CONFIG', 'SET', 'maxclients', String(total - pubsub)]);
      await control.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);

      await emulators.kdms.settlePending();
      await eventually(
        async () => (await a.sdk.UploadJob({ id: job.id })).uploadJob?.status === 'COMPLETED',
        'the callback settling the job through A',
      );
      // The message went out while B was not listening.
      expect(subscriber.statuses).toEqual(['PENDING']);

      await control.sendCommand(['CONFIG', 'SET', 'maxclients', '10000']);
      await subscriber.waitFor('COMPLETED');
      expect(subscriber.statuses).toEqual(['PENDING', 'COMPLETED']);
      await expect(subscriber.ended).resolves.toEqual({ kind: 'complete' });
      expect(emulators.kdms.deliveries.filter((d) => d.callbackUrl === webhookOf(a))).toHaveLength(1);
    } finally {
      await control.sendCommand(['CONFIG', 'SET', 'maxclients', '10000']);
      await subscriber.close();
    }
  });
});
