import { jest } from '@jest/globals';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { eventually } from '../../helpers/wait.js';

/**
 * Suites that keep uploads pending (KDMS settles after an hour) and settle them themselves run a graph over
 * those emulators. That graph waited only the embedded default (10 s, from KDMS_ASYNC_DELAY_MS 2,000) for a
 * callback: on a loaded machine a test outlasted it, the poller read KDMS before KDMS had settled the upload,
 * found none of its devices and settled the job FAILED (NOT_REGISTERED); subscribers saw PENDING,FAILED.
 */
describe('a test graph over shared emulators waits for callbacks as long as their KDMS takes', () => {
  let emulators: RunningEmulators;
  let graph: TestGraph;
  beforeAll(async () => {
    emulators = await startTestEmulators({
      fleet: { size: 20, seed: 'shared-webhook-wait' },
      kdms: { async: { asyncDelayMs: 3_600_000 } },
    });
    graph = await startTestGraph({ sharedEmulators: emulators, env: { JOB_POLL_INTERVAL_MS: '50' } });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await graph?.stop();
    await emulators?.stop();
  });

  it('the poller leaves a pending upload to its callback while KDMS is still working on it', async () => {
    const jobs = graph.fleetgraph.server.jobs;
    const settleOverdue = jest.spyOn(jobs, 'settleOverdue');
    const { id } = (await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } })).uploadDevices;
    await eventually(() => settleOverdue.mock.calls.length >= 2, 'two poller ticks');
    const [webhookTimeoutMs] = settleOverdue.mock.calls[0]!;
    expect(webhookTimeoutMs).toBeGreaterThan(emulators.kdms.asyncSettings.asyncDelayMs);

    // The job as the poller finds it a minute on (well past the old 10 s, well within KDMS's hour).
    const minuteOn = Date.now() + 60_000;
    const now = jest.spyOn(Date, 'now').mockReturnValue(minuteOn);
    graph.resetCalls();
    expect(await jobs.settleOverdue(webhookTimeoutMs)).toBe(0);
    now.mockRestore();
    expect(graph.upstreamCallsByEndpoint().kdms).not.toHaveProperty(['POST /kdms/v1/devices/getDevices']);
    expect(await jobs.get(id)).toMatchObject({ status: 'PENDING', settledBy: null });

    // KDMS settles it: the callback decides, COMPLETED.
    await emulators.kdms.settlePending();
    expect(await jobs.get(id)).toMatchObject({ status: 'COMPLETED', settledBy: 'WEBHOOK', failures: [] });
  });
});
