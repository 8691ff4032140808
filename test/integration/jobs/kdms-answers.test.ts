import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { emulatorUpstreams } from '../../../src/server/embedded-upstreams.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { request } from '../../helpers/http.js';

/**
 * KDMS's JSON is our assumption (private preview, no public field list), so Fleetgraph must cope with
 * answers that carry only what the tutorial names, and refuse, by JSON path, the ones it cannot use. A
 * proxy in front of the KDMS emulator rewrites its answers; the graph is pointed at the proxy the way an
 * operator points it at a real tenant.
 */
type Rewrite = (body: Record<string, unknown>) => unknown;

interface KdmsProxy {
  url: string;
  /** Rewrites the JSON answers of `METHOD /path` until `clear`. */
  rewrite(route: string, change: Rewrite): void;
  /**
   * Requests to `METHOD /path` get no answer until `clear`: `forwarded` ones reach KDMS (which takes
   * them; only the answer is lost), the others never leave the proxy.
   */
  hold(route: string, mode: 'forwarded' | 'swallowed'): void;
  clear(): void;
  close(): Promise<void>;
}

async function startKdmsProxy(target: string): Promise<KdmsProxy> {
  const rewrites = new Map<string, Rewrite>();
  const holds = new Map<string, 'forwarded' | 'swallowed'>();
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const route = `${req.method} ${new URL(req.url ?? '/', target).pathname}`;
      const held = holds.get(route);
      if (held === 'swallowed') return;
      const answer = await fetch(target + (req.url ?? '/'), {
        method: req.method ?? 'GET',
        headers: {
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}),
        },
        ...(body.length > 0 ? { body } : {}),
      });
      let text = await answer.text();
      if (held === 'forwarded') return;
      const change = rewrites.get(route);
      if (change && answer.ok) text = JSON.stringify(change(JSON.parse(text) as Record<string, unknown>));
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rewrite: (route, change) => rewrites.set(route, change),
    hold: (route, mode) => holds.set(route, mode),
    clear: () => {
      rewrites.clear();
      holds.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const GET_DEVICES = 'POST /kdms/v1/devices/getDevices';
const UPLOAD = 'POST /kdms/v1/devices/upload';

/** Each device with only the attributes the tutorial names, and no total or cursor. */
const onlyWhatTheTutorialNames: Rewrite = (body) => ({
  devices: (body.devices as Array<Record<string, unknown>>).map((d) => ({
    deviceId: d.deviceId,
    customerId: d.customerId,
    imei: d.imei,
    serialNumber: d.serialNumber,
    modelName: d.modelName,
  })),
});

let emulators: RunningEmulators;
let proxy: KdmsProxy;
let graph: TestGraph;
beforeAll(async () => {
  // Uploads stay pending until a test settles them.
  emulators = await startTestEmulators({
    fleet: { size: 40, seed: 'kdms-answers' },
    kdms: { async: { asyncDelayMs: 3_600_000 } },
  });
  proxy = await startKdmsProxy(emulators.urls.kdms);
  const upstreams = emulatorUpstreams(emulators);
  graph = await startTestGraph({
    sharedEmulators: emulators,
    // A held answer times out after a second (the default is 10 s).
    env: { KDMS_TIMEOUT_MS: '1000' },
    config: { upstreams: { ...upstreams, kdms: { ...upstreams.kdms, url: `${proxy.url}/kdms/v1` } } },
  });
});
afterAll(async () => {
  await graph?.stop();
  await proxy?.close();
  await emulators?.stop();
});
afterEach(() => proxy.clear());

const REGISTRATIONS = `query ($first: Int!, $after: String) {
  devices(first: $first, after: $after, filter: { source: KDMS }) {
    edges { node { imei serialNumber registration { deviceId customerId uploadId targetServices uploadedAt } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface RegistrationPage {
  devices: {
    edges: Array<{ node: { registration: Record<string, unknown> } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

describe('getDevices answers with only the fields the tutorial names', () => {
  it('reads every registration, the missing attributes as null, and pages after the last device', async () => {
    proxy.rewrite(GET_DEVICES, onlyWhatTheTutorialNames);
    const registered = emulators.fleet.devices.filter((d) => d.kdms).length;
    const seen: Array<Record<string, unknown>> = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { body } = await graph.post(REGISTRATIONS, { first: 10, after });
      expect(body.errors).toBeUndefined();
      const page = (body.data as unknown as RegistrationPage).devices;
      seen.push(...page.edges.map((e) => e.node.registration));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages += 1;
    } while (after);
    expect(seen).toHaveLength(registered);
    expect(new Set(seen.map((r) => r.deviceId)).size).toBe(registered);
    expect(pages).toBe(Math.floor(registered / 10) + 1);
    for (const registration of seen) {
      expect(registration).toEqual({
        deviceId: expect.any(String),
        customerId: emulators.fleet.customerId,
        uploadId: null,
        targetServices: [],
        uploadedAt: null,
      });
    }
  });

  it("lists an upload's devices through getDevices by uploadId, paging without a cursor", async () => {
    const imeis = freshImeis(3);
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis } });
    await emulators.kdms.settlePending();
    proxy.rewrite(GET_DEVICES, onlyWhatTheTutorialNames);
    const first = await graph.sdk.UploadJob({ id: job.id, first: 2 });
    expect(first.uploadJob!.devices!.edges).toHaveLength(2);
    expect(first.uploadJob!.devices!.pageInfo.hasNextPage).toBe(true);
    const rest = await graph.sdk.UploadJob({
      id: job.id,
      first: 2,
      after: first.uploadJob!.devices!.pageInfo.endCursor,
    });
    expect(rest.uploadJob!.devices!.edges).toHaveLength(1);
    expect(rest.uploadJob!.devices!.pageInfo.hasNextPage).toBe(false);
    const listed = [...first.uploadJob!.devices!.edges, ...rest.uploadJob!.devices!.edges];
    expect(listed.map((e) => e.node.imei).sort()).toEqual([...imeis].sort());
  });

  it('refuses a device with neither IMEI nor serial number, naming its JSON path', async () => {
    proxy.rewrite(GET_DEVICES, (body) => {
      const devices = body.devices as Array<Record<string, unknown>>;
      devices[3] = { deviceId: devices[3]!.deviceId, imei: null, modelName: 'SM-X' };
      return body;
    });
    const { status, body } = await graph.post(REGISTRATIONS, { first: 10 });
    expect(status).toBe(200);
    expect(body.errors?.[0]).toMatchObject({
      message: 'KDMS getDevices: devices[3]: a device needs an imei or a serialNumber',
      extensions: { code: 'UPSTREAM_ERROR', upstream: 'KDMS', endpoint: GET_DEVICES },
    });
  });
});

const SUBMIT = `mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id uploadId status } }`;
const DELETE = `mutation ($input: DeviceBatchInput!) { deleteDevices(input: $input) { id uploadId status } }`;
const JOB = `query ($id: ID!) {
  uploadJob(id: $id) { id uploadId idempotencyKey operation status requested succeeded failed settledBy failures { identifier code } }
}`;
const kdmsCalls = (route: string) => emulators.requestCounts().kdms[route] ?? 0;
const jobById = async (id: string) =>
  (await graph.post(JOB, { id })).body.data?.uploadJob as Record<string, unknown> | null;
/** A KDMS callback is delivered to this graph, which subscribed to KWN at start. */
const settleInKdms = () => emulators.kdms.settlePending();

describe('malformed or timed-out KDMS upload answers (issue 12, items 4 and 9)', () => {
  afterEach(() => request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookMode: 'deliver' }));

  it('a 202 without a readable uploadId: UPSTREAM_ERROR naming KDMS and the job, which stays UNCONFIRMED until its callback settles it', async () => {
    const before = (await graph.sdk.UploadJobs({ first: 100 })).uploadJobs!.edges.length;
    proxy.rewrite(UPLOAD, (body) => ({ ...body, uploadId: undefined }));
    const imeis = freshImeis(2);
    const { status, body } = await graph.post(SUBMIT, { input: { imeis } });
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.message).toMatch(/^KDMS upload: uploadId: /);
    const jobId = body.errors?.[0]?.extensions?.jobId as string;
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstream: 'KDMS',
      endpoint: UPLOAD,
      upstreamStatus: 202,
      jobId: expect.any(String),
      jobStatus: 'UNCONFIRMED',
    });
    expect(body.errors?.[0]?.message).toContain(`uploadJob(id: "${jobId}")`);
    proxy.rewrite(UPLOAD, (answer) => ({ ...answer, uploadId: { value: answer.uploadId } }));
    const deleted = await graph.post(DELETE, { input: { imeis: freshImeis(1) } });
    // The delete goes to another path, untouched: only the upload answer was broken.
    expect(deleted.body.errors).toBeUndefined();
    const broken = await graph.post(SUBMIT, { input: { imeis: freshImeis(1) } });
    expect(broken.body.errors?.[0]?.message).toMatch(/^KDMS upload: uploadId: /);
    proxy.clear();

    const after = (await graph.sdk.UploadJobs({ first: 100 })).uploadJobs!.edges.map((e) => e.node);
    // Both broken uploads are known (KDMS took them), the delete is PENDING; nothing under "undefined" or an object.
    expect(after).toHaveLength(before + 3);
    expect(after.slice(0, 3).map((j) => [j.operation, j.status])).toEqual([
      ['UPLOAD', 'UNCONFIRMED'],
      ['DELETE', 'PENDING'],
      ['UPLOAD', 'UNCONFIRMED'],
    ]);
    expect((await graph.sdk.UploadJob({ id: 'undefined' })).uploadJob).toBeNull();
    expect(await jobById(jobId)).toMatchObject({ status: 'UNCONFIRMED', uploadId: null, requested: 2 });

    // KDMS's callback names the uploadId the 202 lost and lists the two devices: it finds the job.
    await settleInKdms();
    const settled = await jobById(jobId);
    expect(settled).toMatchObject({
      status: 'COMPLETED',
      succeeded: 2,
      settledBy: 'WEBHOOK',
      uploadId: expect.any(String),
    });
    expect((await jobById(settled!.uploadId as string))?.id).toBe(jobId);
  });

  it('an answer that times out: the job stays UNCONFIRMED, the callback settles it, a retry with the same key uploads nothing', async () => {
    proxy.hold(UPLOAD, 'forwarded');
    emulators.resetCounts();
    const imeis = freshImeis(3);
    const input = { imeis, idempotencyKey: `timeout-${imeis[0]}` };
    const first = await graph.post(SUBMIT, { input });
    expect(first.body.errors?.[0]?.message).toMatch(/^KDMS is unreachable \(ETIMEDOUT\)/);
    expect(first.body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      upstream: 'KDMS',
      jobStatus: 'UNCONFIRMED',
    });
    const jobId = first.body.errors?.[0]?.extensions?.jobId as string;
    expect(kdmsCalls(UPLOAD)).toBe(1);

    // The caller retries, as it was told it may: the same job, and KDMS is not asked again.
    const retry = await graph.post(SUBMIT, { input });
    expect(retry.body.errors).toBeUndefined();
    expect(retry.body.data?.uploadDevices).toEqual({ id: jobId, uploadId: null, status: 'UNCONFIRMED' });
    expect(kdmsCalls(UPLOAD)).toBe(1);

    proxy.clear();
    await settleInKdms();
    expect(await jobById(jobId)).toMatchObject({
      status: 'COMPLETED',
      succeeded: 3,
      settledBy: 'WEBHOOK',
      idempotencyKey: input.idempotencyKey,
      uploadId: expect.any(String),
    });
    const again = await graph.post(SUBMIT, { input });
    expect(again.body.data?.uploadDevices).toMatchObject({ id: jobId, status: 'COMPLETED' });
    expect(kdmsCalls(UPLOAD)).toBe(1);
  });

  it('concurrent calls with one idempotency key upload once; the key with another batch is refused', async () => {
    emulators.resetCounts();
    const imeis = freshImeis(2);
    const input = { imeis, idempotencyKey: `concurrent-${imeis[0]}` };
    const answers = await Promise.all(Array.from({ length: 5 }, () => graph.post(SUBMIT, { input })));
    const ids = answers.map((a) => (a.body.data?.uploadDevices as { id: string }).id);
    expect(new Set(ids).size).toBe(1);
    expect(kdmsCalls(UPLOAD)).toBe(1);
    const other = await graph.post(SUBMIT, { input: { ...input, imeis: freshImeis(2) } });
    expect(other.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', jobId: ids[0] });
    expect(kdmsCalls(UPLOAD)).toBe(1);
  });

  it('an UNCONFIRMED upload KDMS took, whose callback is lost, is settled by reading KDMS for its devices', async () => {
    proxy.hold(UPLOAD, 'forwarded');
    const imeis = freshImeis(2);
    const { body } = await graph.post(SUBMIT, { input: { imeis } });
    const jobId = body.errors?.[0]?.extensions?.jobId as string;
    proxy.clear();
    await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookMode: 'drop' });
    await settleInKdms();
    expect(await jobById(jobId)).toMatchObject({ status: 'UNCONFIRMED' });
    emulators.resetCounts();
    // What the poller runs once the callback is overdue.
    await graph.fleetgraph.server.jobs.settleOverdue(0);
    expect(kdmsCalls(GET_DEVICES)).toBeGreaterThan(0);
    expect(await jobById(jobId)).toMatchObject({
      status: 'COMPLETED',
      succeeded: 2,
      failed: 0,
      settledBy: 'POLLING',
      // Every device was registered after the job, by one operation: that is its uploadId.
      uploadId: expect.any(String),
    });
  });

  it('an UNCONFIRMED upload that never reached KDMS is settled FAILED by reading KDMS', async () => {
    proxy.hold(UPLOAD, 'swallowed');
    const imeis = freshImeis(2);
    const { body } = await graph.post(SUBMIT, { input: { imeis } });
    const jobId = body.errors?.[0]?.extensions?.jobId as string;
    proxy.clear();
    expect(await jobById(jobId)).toMatchObject({ status: 'UNCONFIRMED' });
    await graph.fleetgraph.server.jobs.settleOverdue(0);
    expect(await jobById(jobId)).toMatchObject({
      status: 'FAILED',
      succeeded: 0,
      failed: 2,
      settledBy: 'POLLING',
      uploadId: null,
      failures: imeis.map((identifier) => ({ identifier, code: 'NOT_REGISTERED' })),
    });
  });

  it('a delete whose answer times out is settled by reading KDMS: the devices are gone', async () => {
    const imeis = freshImeis(2);
    await graph.post(SUBMIT, { input: { imeis } });
    await settleInKdms();
    proxy.hold('POST /kdms/v1/devices/delete', 'forwarded');
    const { body } = await graph.post(DELETE, { input: { imeis } });
    const jobId = body.errors?.[0]?.extensions?.jobId as string;
    proxy.clear();
    await request('PUT', `${emulators.urls.kdms}/_emulator/async`, { webhookMode: 'drop' });
    await settleInKdms();
    await graph.fleetgraph.server.jobs.settleOverdue(0);
    expect(await jobById(jobId)).toMatchObject({
      operation: 'DELETE',
      status: 'COMPLETED',
      succeeded: 2,
      settledBy: 'POLLING',
    });
  });

  it('a definite refusal (KDMS answers 503) keeps no job, and the same key may be sent again', async () => {
    const before = (await graph.sdk.UploadJobs({ first: 100 })).uploadJobs!.edges.length;
    await request('PUT', `${emulators.urls.kdms}/_emulator/faults`, {
      failNext: 1,
      errorStatus: 503,
      paths: ['/kdms/v1/devices/upload'],
    });
    try {
      const imeis = freshImeis(1);
      const input = { imeis, idempotencyKey: `refused-${imeis[0]}` };
      const refused = await graph.post(SUBMIT, { input });
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        upstreamStatus: 503,
      });
      expect(refused.body.errors?.[0]?.extensions?.jobId).toBeUndefined();
      expect((await graph.sdk.UploadJobs({ first: 100 })).uploadJobs!.edges).toHaveLength(before);
      const accepted = await graph.post(SUBMIT, { input });
      expect(accepted.body.data?.uploadDevices).toMatchObject({
        status: 'PENDING',
        uploadId: expect.any(String),
      });
    } finally {
      await request('DELETE', `${emulators.urls.kdms}/_emulator/faults`);
    }
  });
});
