import { createClient } from '@keyv/redis';
import { DEFAULT_LEASE_MS } from '../../../src/cache/locks.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { emulatorEnv } from '../../../src/server/embedded-upstreams.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';
import { startTsProcess } from '../../helpers/ts-process.js';
import type { TsProcess } from '../../helpers/ts-process.js';
import { eventually } from '../../helpers/wait.js';
import { startLocalRedis } from '../../../examples/supergraph/local-redis.js';
import type { LocalRedis } from '../../../examples/supergraph/local-redis.js';

/**
 * Issue 12 (low item): a Redis job lock left by a killed replica stalled that job's callbacks for 60 s
 * (the lock's TTL), longer than a callback waits. Locks are leases now: short, renewed while held. Two
 * real replicas share a real Redis; replica A (a process of its own) holds a job's lock while it polls
 * KDMS, and is killed with SIGKILL; replica B must take the job's callback all the same.
 */
let redis: LocalRedis;
let emulators: RunningEmulators;
let b: TestGraph;
let a: TsProcess | null = null;

beforeAll(async () => {
  redis = await startLocalRedis();
  emulators = await startTestEmulators({
    fleet: { size: 20, seed: 'lock-lease' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  // B never polls KDMS itself during the test: only the callback can settle the job there.
  b = await startTestGraph({
    sharedEmulators: emulators,
    env: { CACHE_URL: redis.url, WEBHOOK_TIMEOUT_MS: '3600000' },
  });
});
afterAll(async () => {
  a?.kill();
  await b?.stop();
  await request('DELETE', `${emulators.urls.kdms}/_emulator/faults`).catch(() => undefined);
  await emulators?.stop();
  await redis?.stop();
});

describe('a Redis job lock left by a killed replica (issue 12)', () => {
  it("is a lease: once the holder is killed, another replica applies the job's callback", async () => {
    const imeis = freshImeis(3);
    const { uploadDevices: job } = await b.sdk.UploadDevices({ input: { imeis } });
    const { body } = await b.post('query ($id: ID!) { uploadJob(id: $id) { uploadId } }', { id: job.id });
    const uploadId = (body.data?.uploadJob as { uploadId: string }).uploadId;

    // KDMS's getDevices never answers: a replica polling this job holds its lock until it is killed.
    await request('PUT', `${emulators.urls.kdms}/_emulator/faults`, {
      latencyMs: 3_600_000,
      paths: ['/kdms/v1/devices/getDevices'],
    });
    a = await startTsProcess('src/cli.ts', ['serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...emulatorEnv(emulators.urls),
        CACHE_URL: redis.url,
        // Its callbacks are not the point; KDMS keeps calling B.
        WEBHOOK_PUBLIC_URL: b.url.replace('localhost', '127.0.0.1').replace('/graphql', '/webhooks/knox'),
        // A polls every job at once, and its getDevices call outlasts the test.
        WEBHOOK_TIMEOUT_MS: '100',
        JOB_POLL_INTERVAL_MS: '100',
        KDMS_TIMEOUT_MS: '300000',
      },
      readyWhen: ' at http://',
    });

    const redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    try {
      const lock = `fleetgraph:lock:job:${job.id}`;
      await eventually(async () => (await redisClient.exists(lock)) === 1, 'replica A holding the job lock');
      // A lease, not a TTL as long as the longest task: a dead holder keeps it seconds at most.
      expect(await redisClient.pTTL(lock)).toBeLessThanOrEqual(DEFAULT_LEASE_MS);
      a.kill(); // SIGKILL: no release, no cleanup

      // KDMS's callback reaches B, which waits for the job's lock (30 s at most) and applies it.
      const callback = Buffer.from(
        JSON.stringify({
          eventId: `lease-${uploadId}`,
          eventType: 'KDMS_DEVICE_UPLOAD',
          data: { uploadId, results: imeis.map((deviceId) => ({ deviceId, status: 'SUCCESS' })) },
        }),
      );
      const response = await fetch(b.url.replace('/graphql', '/webhooks/knox'), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-wsm-signature': await emulators.kdms.signCallback(callback),
        },
        body: callback,
      });
      expect([response.status, await response.json()]).toEqual([200, { outcome: 'applied' }]);
      const settled = await b.post('query ($id: ID!) { uploadJob(id: $id) { status succeeded settledBy } }', {
        id: job.id,
      });
      expect(settled.body.data?.uploadJob).toEqual({
        status: 'COMPLETED',
        succeeded: 3,
        settledBy: 'WEBHOOK',
      });
    } finally {
      await redisClient.close();
    }
  }, 90_000);
});
