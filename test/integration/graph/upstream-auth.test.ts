import { emulatorUpstreams } from '../../../src/server/embedded-upstreams.js';
import { createStoreFactory } from '../../../src/cache/create-store.js';
import { createUpstreams } from '../../../src/server/create-upstreams.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { UpstreamError } from '../../../src/upstreams/errors.js';
import { request } from '../../helpers/http.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';

/** OAuth client credentials against the emulators: shared tokens, refresh on 401, refused credentials. */
let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 50 } });
});
afterAll(() => emulators.stop());
beforeEach(() => emulators.resetCounts());

const upstreamsFor = (config = emulatorUpstreams(emulators)) =>
  createUpstreams({ config, stores: createStoreFactory(), readCacheTtlMs: 0 });

describe('client-credentials tokens', () => {
  it('fetches one token per API for many concurrent calls', async () => {
    const upstreams = upstreamsFor();
    await Promise.all([
      ...Array.from({ length: 10 }, () => upstreams.kdms.getDevices({ pageSize: 1 })),
      ...Array.from({ length: 10 }, () => upstreams.knoxManage.selectUserWithId('user-0001')),
    ]);
    const counts = emulators.requestCounts();
    expect(counts.kdms['POST /ams/v1/oauth2/token']).toBe(1);
    expect(counts.knoxManage['POST /emm/oauth/token']).toBe(1);
    expect(counts.kdms['POST /kdms/v1/devices/getDevices']).toBe(10);
  });

  it('after a 401, fetches a fresh token once and retries the call once', async () => {
    const upstreams = upstreamsFor();
    await upstreams.kdms.getDevices({ pageSize: 1 });
    await request('POST', `${emulators.urls.kdms}/_emulator/tokens/expire`);
    emulators.resetCounts();
    await Promise.all([
      upstreams.kdms.getDevices({ pageSize: 1 }),
      upstreams.kdms.getDevices({ pageSize: 1 }),
    ]);
    expect(emulators.requestCounts().kdms).toEqual({
      'POST /ams/v1/oauth2/token': 1,
      'POST /kdms/v1/devices/getDevices': 4,
    });
  });

  it('names the upstream when it refuses our credentials, and does not loop', async () => {
    const config = emulatorUpstreams(emulators);
    const upstreams = upstreamsFor({
      ...config,
      knoxManage: { ...config.knoxManage, clientSecret: 'wrong' },
    });
    const failure = await upstreams.knoxManage.selectUserWithId('user-0001').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({
      code: 'UPSTREAM_AUTH_FAILED',
      upstream: 'KNOX_MANAGE',
      status: 401,
      upstreamCode: 'invalid_client',
    });
    expect((failure as Error).message).toBe(
      "Knox Manage refused Fleetgraph's client credentials (invalid_client)",
    );
    expect((failure as Error).message).not.toContain('wrong');
    expect(emulators.requestCounts().knoxManage).toEqual({ 'POST /emm/oauth/token': 1 });
  });

  it('turns malformed JSON and 429 into typed errors that name the upstream', async () => {
    const upstreams = upstreamsFor();
    await request('PUT', `${emulators.urls.box}/_emulator/faults`, { malformedJsonNext: 1 });
    await expect(upstreams.box.listDevices()).rejects.toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstream: 'BOX',
      message: expect.stringContaining('malformed JSON'),
    });
    await request('PUT', `${emulators.urls.box}/_emulator/faults`, {
      rateLimitNext: 1,
      retryAfterSeconds: 9,
    });
    await expect(upstreams.box.listDevices()).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      upstream: 'BOX',
      status: 429,
      retryAfterSeconds: 9,
    });
    await request('DELETE', `${emulators.urls.box}/_emulator/faults`);
  });
});
