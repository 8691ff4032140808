import { randomUUID } from 'node:crypto';
import { deviceIdOf } from '../../../src/domain/device-ref.js';
import { userNodeIdOf } from '../../../src/domain/node-id.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

/**
 * The navigable schema: `node(id)` over devices, users and upload jobs (read as their own queries read
 * them), `totalCount` on uploadJobs, and Knox Manage's platform and ownership codes in words.
 */
let emulators: RunningEmulators;
let graph: TestGraph;
beforeAll(async () => {
  // Uploads stay PENDING until a test settles them, so job counts are exact.
  emulators = await startTestEmulators({
    fleet: { size: 100, seed: 'node' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  graph = await startTestGraph({ sharedEmulators: emulators });
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
});
beforeEach(() => graph.resetCalls());

const deviceInAllThree = () =>
  emulators.fleet.devices.find((d) => d.imei && d.kdms && d.knoxManage && d.box)!;

const NODE = `query ($id: ID!) { node(id: $id) {
  __typename id
  ... on Device { imei serialNumber model management { deviceId platform ownership } access { name } }
  ... on User { userId name email }
  ... on UploadJob { operation status requested }
} }`;

describe('node(id)', () => {
  it('finds a device by Device.id, with the upstream calls device(id) makes', async () => {
    const seeded = deviceInAllThree();
    const id = deviceIdOf(seeded);
    const direct = await graph.post(
      `query ($id: ID) { device(id: $id) { id imei serialNumber model management { deviceId platform ownership } access { name } } }`,
      { id },
    );
    const directCalls = graph.upstreamCalls();
    graph.resetCalls();
    const { body } = await graph.post(NODE, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data?.node).toEqual({ __typename: 'Device', ...(direct.body.data?.device as object) });
    expect(body.data?.node).toMatchObject({
      id,
      imei: seeded.imei,
      management: { deviceId: seeded.knoxManage!.deviceId, platform: 'ANDROID', ownership: 'COMPANY_OWNED' },
    });
    expect(graph.upstreamCalls()).toEqual(directCalls);
  });

  it('finds a user by User.id, which user(userId) gives', async () => {
    const seeded = emulators.fleet.users[0]!;
    const { body: byUserId } = await graph.post('query ($u: ID!) { user(userId: $u) { id userId } }', {
      u: seeded.userId,
    });
    const id = (byUserId.data?.user as { id: string }).id;
    expect(id).toBe(userNodeIdOf(seeded.userId));
    const { body } = await graph.post(NODE, { id });
    expect(body.errors).toBeUndefined();
    expect(body.data?.node).toEqual({
      __typename: 'User',
      id,
      userId: seeded.userId,
      name: seeded.userName,
      email: seeded.email,
    });
  });

  it('finds an upload job by UploadJob.id, and not by its KDMS uploadId', async () => {
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: freshImeis(3) } });
    const { body } = await graph.post(NODE, { id: job.id });
    expect(body.errors).toBeUndefined();
    expect(body.data?.node).toEqual({
      __typename: 'UploadJob',
      id: job.id,
      operation: 'UPLOAD',
      status: 'PENDING',
      requested: 3,
    });
    // uploadJob(id) also takes KDMS's uploadId; a node is only ever the object with that very id.
    expect(job.uploadId).not.toBe(job.id);
    const byUploadId = await graph.post(NODE, { id: job.uploadId });
    expect(byUploadId.body).toEqual({ data: { node: null } });
  });

  it.each([
    ['a device no API knows', () => deviceIdOf({ imei: '490154203237518', serialNumber: null })],
    ['a user Knox Manage does not know', () => userNodeIdOf('no.such.user')],
    ['an upload job never recorded', () => randomUUID()],
  ])('answers null, without an error, for %s', async (_what, id) => {
    const { status, body } = await graph.post(NODE, { id: id() });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { node: null } });
  });

  it.each([
    ['text that is no id', 'not an id'],
    [
      'a device id whose IMEI fails its check digit',
      Buffer.from('imei:490154203237519').toString('base64url'),
    ],
    ['a user id with no user in it', Buffer.from('user:').toString('base64url')],
    ['an empty id', ''],
  ])('refuses %s with BAD_USER_INPUT', async (_what, id) => {
    const { body } = await graph.post(NODE, { id });
    expect(body.data).toEqual({ node: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({
      path: ['node'],
      extensions: { code: 'BAD_USER_INPUT', argument: 'id' },
    });
    expect(graph.upstreamCalls()).toEqual({ kdms: 0, knoxManage: 0, box: 0 });
  });
});

describe('uploadJobs totalCount', () => {
  it('counts every job of the listing, all pages, with and without a status filter', async () => {
    const before = (await graph.sdk.UploadJobs({ first: 0 })).uploadJobs!.totalCount!;
    const pendingBefore = (await graph.sdk.UploadJobs({ first: 0, status: 'PENDING' })).uploadJobs!
      .totalCount!;
    for (let i = 0; i < 3; i++) await graph.sdk.UploadDevices({ input: { imeis: freshImeis(1) } });
    const all = (await graph.sdk.UploadJobs({ first: 1 })).uploadJobs!;
    expect(all.totalCount).toBe(before + 3);
    expect(all.edges).toHaveLength(1);
    expect((await graph.sdk.UploadJobs({ first: 1, status: 'PENDING' })).uploadJobs!.totalCount).toBe(
      pendingBefore + 3,
    );
    expect((await graph.sdk.UploadJobs({ first: 1, status: 'FAILED' })).uploadJobs!.totalCount).toBe(0);
  });
});
