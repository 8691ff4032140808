import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { openSubscriptionConnection, subscribeToJob } from '../../helpers/job-subscriber.js';
import type { JobWatch } from '../../helpers/job-subscriber.js';
import { TEST_JWT_SECRET } from '../../helpers/production-env.js';
import { eventually } from '../../helpers/wait.js';
import { signCallerToken } from '../../../src/server/dev-token.js';

/**
 * Issue 12, item 1: `uploadJobChanged` subscriptions that ended while waiting kept their listener and
 * their whole request context (loaders, upstream clients): 2,000 subscriptions, ended, kept 2,000
 * listeners and grew the heap by about 60 KB each, round after round. Here thousands are opened over
 * graphql-ws against the real server and ended every way there is; the server's listener count must
 * return to 0 and its heap (after forced collections) to where it started.
 */
const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

/** Heap in use after full collections (weak references and finalizers get a turn between them). */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(0);
  }
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe('subscriptions leak (issue 12, item 1)', () => {
  let emulators: RunningEmulators;
  let graph: TestGraph;
  beforeAll(async () => {
    emulators = await startTestEmulators({
      fleet: { size: 20, seed: 'subscriptions' },
      kdms: { async: { asyncDelayMs: 3_600_000 } },
    });
    graph = await startTestGraph({ sharedEmulators: emulators });
  });
  afterAll(async () => {
    await graph?.stop();
    await emulators?.stop();
  });

  const watchers = () => graph.fleetgraph.server.jobs.watchers;
  const upload = async () =>
    (await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } })).uploadDevices.id;

  it('2,000 subscriptions a round, ended every way, leave no listener and no context behind (3 rounds)', async () => {
    const PER_WAY = 400;
    const settledJob = await upload();
    await emulators.kdms.settlePending();
    const heapAtStart = await settledHeap();
    let heapWhileOpen = 0;
    let heapAfterFirstRound = 0;

    for (let round = 0; round < 3; round++) {
      const [waitingA, waitingB, settlingC] = [await upload(), await upload(), await upload()];
      const connections = Array.from({ length: 5 }, () => openSubscriptionConnection(graph.url));
      const [unknownConn, settledConn, unsubscribeConn, disconnectConn, settlingConn] = connections;
      const open = (connection: typeof unknownConn, id: (i: number) => string): JobWatch[] =>
        Array.from({ length: PER_WAY }, (_, i) => connection!.watch(id(i)));
      const unknown = open(unknownConn, (i) => `no-such-job-${round}-${i}`);
      const settled = open(settledConn, () => settledJob);
      const unsubscribing = open(unsubscribeConn, () => waitingA);
      const disconnecting = open(disconnectConn, () => waitingB);
      const settling = open(settlingConn, () => settlingC);

      // An unknown job ends at once with NOT_FOUND; a settled one sends itself and completes.
      for (const end of await Promise.all(unknown.map((w) => w.ended)))
        expect(end).toMatchObject({ kind: 'error', codes: ['NOT_FOUND'] });
      expect(await Promise.all(settled.map((w) => w.ended))).toEqual(
        Array(PER_WAY).fill({ kind: 'complete' }),
      );
      expect(new Set(settled.map((w) => w.statuses.join()))).toEqual(new Set(['COMPLETED']));

      // The others wait: each has its job's first state, and holds one listener.
      const waiting = [...unsubscribing, ...disconnecting, ...settling];
      await eventually(
        () => waiting.every((w) => w.statuses.length === 1),
        'every waiting subscription seeing its job',
      );
      expect(watchers()).toBe(3 * PER_WAY);
      if (round === 0) heapWhileOpen = await settledHeap();

      // The client unsubscribes, the socket drops, the job settles (each sends COMPLETED, then completes).
      unsubscribing.forEach((w) => w.unsubscribe());
      disconnectConn!.disconnect();
      await emulators.kdms.settlePending();
      expect(await Promise.all(settling.map((w) => w.ended))).toEqual(
        Array(PER_WAY).fill({ kind: 'complete' }),
      );
      expect(new Set(settling.map((w) => w.statuses.join()))).toEqual(new Set(['PENDING,COMPLETED']));

      await eventually(() => watchers() === 0, 'every listener released');
      await Promise.all(connections.map((c) => c.dispose()));
      // The first round also warms up code and caches; later rounds must add nothing to it.
      if (round === 0) heapAfterFirstRound = await settledHeap();
    }

    const heapAtEnd = await settledHeap();
    console.log(
      `heap: ${mb(heapAtStart)} at start, ${mb(heapWhileOpen)} with 1,200 subscriptions open, ` +
        `${mb(heapAfterFirstRound)} after the first round of 2,000, ${mb(heapAtEnd)} after the third`,
    );
    expect(watchers()).toBe(0);
    // Before the fix each round kept ~120 MB: 60 MB at start, 180 MB after one round, 418 MB after three.
    expect(heapAtEnd / heapAfterFirstRound).toBeLessThan(1.1);
    expect(heapAtEnd / heapAtStart).toBeLessThan(1.3);
  }, 120_000);
});

describe("subscriptions end when the caller's token expires (issue 12, item 1)", () => {
  let emulators: RunningEmulators;
  let graph: TestGraph;
  beforeAll(async () => {
    emulators = await startTestEmulators({
      fleet: { size: 20, seed: 'subscriptions-auth' },
      kdms: { async: { asyncDelayMs: 3_600_000 } },
    });
    graph = await startTestGraph({ sharedEmulators: emulators, env: { AUTH_JWT_SECRET: TEST_JWT_SECRET } });
  });
  afterAll(async () => {
    await graph?.stop();
    await emulators?.stop();
  });

  it('a subscription on a job that never settles ends with UNAUTHENTICATED at the token expiry, and lets go', async () => {
    const longLived = await signCallerToken(TEST_JWT_SECRET, { scopes: ['devices:read', 'devices:upload'] });
    const { body } = await graph.post(
      'mutation ($imeis: [String!]) { uploadDevices(input: { imeis: $imeis }) { id } }',
      { imeis: freshImeis(1) },
      { authorization: `Bearer ${longLived}` },
    );
    const jobId = (body.data?.uploadDevices as { id: string }).id;
    const shortLived = await signCallerToken(TEST_JWT_SECRET, { scopes: ['devices:read'], expiresIn: '2s' });
    const subscriber = subscribeToJob(graph.url, jobId, shortLived);
    try {
      await subscriber.waitFor('PENDING');
      expect(graph.fleetgraph.server.jobs.watchers).toBe(1);
      // Nothing else happens to the job: only the token's expiry can end this subscription.
      expect(await subscriber.ended).toMatchObject({ kind: 'error', codes: ['UNAUTHENTICATED'] });
      expect(subscriber.statuses).toEqual(['PENDING']);
      await eventually(() => graph.fleetgraph.server.jobs.watchers === 0, 'the listener released');
    } finally {
      await subscriber.close();
    }
  });
});
