import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { emulatorUpstreams } from '../../../src/server/embedded-upstreams.js';
import { freshImeis, startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';

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
  clear(): void;
  close(): Promise<void>;
}

async function startKdmsProxy(target: string): Promise<KdmsProxy> {
  const rewrites = new Map<string, Rewrite>();
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const answer = await fetch(target + (req.url ?? '/'), {
        method: req.method ?? 'GET',
        headers: {
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}),
        },
        ...(body.length > 0 ? { body } : {}),
      });
      let text = await answer.text();
      const change = rewrites.get(`${req.method} ${new URL(req.url ?? '/', target).pathname}`);
      if (change && answer.ok) text = JSON.stringify(change(JSON.parse(text) as Record<string, unknown>));
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rewrite: (route, change) => rewrites.set(route, change),
    clear: () => rewrites.clear(),
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

describe('an upload KDMS accepts without a readable uploadId', () => {
  it('is UPSTREAM_ERROR naming KDMS, the endpoint and the path, and no job is stored', async () => {
    const before = (await graph.sdk.UploadJobs({ first: 100 })).uploadJobs.edges.length;
    proxy.rewrite(UPLOAD, (body) => ({ ...body, uploadId: undefined }));
    const { status, body } = await graph.post(
      'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id } }',
      { input: { imeis: freshImeis(2) } },
    );
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.message).toMatch(/^KDMS upload: uploadId: /);
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstream: 'KDMS',
      endpoint: UPLOAD,
      upstreamStatus: 202,
    });
    proxy.rewrite(UPLOAD, (answer) => ({ ...answer, uploadId: { value: answer.uploadId } }));
    const deleted = await graph.post(
      'mutation ($input: DeviceBatchInput!) { deleteDevices(input: $input) { id } }',
      { input: { imeis: freshImeis(1) } },
    );
    // The delete goes to another path, untouched: only the upload answer was broken.
    expect(deleted.body.errors).toBeUndefined();
    const broken = await graph.post(
      'mutation ($input: DeviceBatchInput!) { uploadDevices(input: $input) { id } }',
      { input: { imeis: freshImeis(1) } },
    );
    expect(broken.body.errors?.[0]?.message).toMatch(/^KDMS upload: uploadId: /);
    const after = (await graph.sdk.UploadJobs({ first: 100 })).uploadJobs.edges;
    // Only the delete became a job; nothing is stored under "undefined" or an object.
    expect(after).toHaveLength(before + 1);
    expect(after[0]!.node.operation).toBe('DELETE');
    expect((await graph.sdk.UploadJob({ id: 'undefined' })).uploadJob).toBeNull();
  });
});
