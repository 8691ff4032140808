import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeviceAccess } from '../../../src/domain/fleet.js';
import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import type { ShapeVariant } from '../../../src/emulators/core/shape-variants.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { BoxClient } from '../../../src/upstreams/box/box.client.js';
import type { BoxDeviceListResponse } from '../../../src/upstreams/box/box.wire.js';
import { UpstreamContractError, UpstreamError } from '../../../src/upstreams/errors.js';
import { UpstreamHttp } from '../../../src/upstreams/upstream-http.js';
import { boxContract } from '../../contract/box.contract.js';
import { boxTarget, startTestEmulators } from '../../helpers/emulator-targets.js';
import { postJson, request } from '../../helpers/http.js';

// 2,500 devices: enough for several 1,000-row pages where an API pages that way.
let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 2500, seed: 'contract' } });
});
afterAll(() => emulators.stop());
afterEach(() => emulators.box.http.clearFaults());

const LIST = '/box/srv/1.1/admin/device/list';
const apiKey: string = DEV_CREDENTIALS.box.apiKey;
const admin = (path: string) => `${emulators.urls.box}/box/srv/1.1/admin/device/${path}`;
const call = <T = unknown>(path: string, body: unknown, key = apiKey) =>
  postJson<T>(admin(path), body, { 'x-fh-auth-user': key });

/** A BoxClient as the server builds one, without retries so each test sees one answer. */
function boxClient(baseUrl: string, key = apiKey): BoxClient {
  return new BoxClient(new UpstreamHttp({ upstream: 'BOX', baseUrl, resilience: { retries: 0 } }), key);
}

/** The client's error, for asserting on its fields. */
async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(error)}`);
  return error;
}

describe('box emulator speaks the box contract', () => {
  boxContract(() => boxTarget(emulators));
});

describe('box emulator by default', () => {
  it('answers exactly the shapes chapter 6 shows, nothing more', async () => {
    const { json: body } = await call<BoxDeviceListResponse>('list', {});
    expect(Object.keys(body).sort()).toEqual(['count', 'list', 'status']);
    expect(body.count).toBe(body.list.length);
    const cuid = body.list[0]!.fields.cuid;
    expect(body.list[0]).toEqual({
      guid: expect.any(String),
      fields: {
        cuid,
        name: expect.any(String),
        disabled: expect.any(Boolean),
        blacklisted: expect.any(Boolean),
      },
    });
    expect((await call('read', { cuid })).json).toEqual({ status: 'ok', ...body.list[0] });
  });

  it.each([
    ['a read without cuid', 'read', {}, 'Invalid request body: cuid: expected string, received undefined'],
    [
      'an empty cuid',
      'read',
      { cuid: '' },
      'Invalid request body: cuid: Too small: expected string to have >=1 characters',
    ],
    [
      'an update with a string flag',
      'update',
      { cuid: 'X', disabled: 'yes' },
      'Invalid request body: disabled: expected boolean, received string',
    ],
    [
      'a body that is not an object',
      'listapps',
      [1],
      'Invalid request body: (the body): expected object, received array',
    ],
    [
      'a list body that is not an object',
      'list',
      'all',
      'Invalid request body: (the body): expected object, received string',
    ],
  ])('validates %s with the wire schema and names the path', async (_what, path, body, message) => {
    const res = await call(path, body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ status: 'error', message });
  });

  it('refuses a body that is not JSON, and reads an empty list body as {}', async () => {
    const broken = await fetch(admin('read'), {
      method: 'POST',
      headers: { 'x-fh-auth-user': apiKey, 'content-type': 'application/json' },
      body: '{"cuid":',
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ status: 'error', message: 'Request body must be JSON' });
    const empty = await fetch(admin('list'), { method: 'POST', headers: { 'x-fh-auth-user': apiKey } });
    expect(empty.status).toBe(200);
  });

  it('documents its schemas with the canonical wire types', async () => {
    const doc = await request<{
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>('GET', `${emulators.urls.box}/openapi.json`);
    expect(Object.keys(doc.json.components.schemas)).toEqual(
      expect.arrayContaining([
        'BoxDeviceListResponse',
        'BoxDeviceReadResponse',
        'BoxErrorResponse',
        'BoxDeviceUpdateRequest',
      ]),
    );
    expect(doc.json.components.schemas.BoxDeviceFields!.properties).toMatchObject({
      cuid: { type: 'string' },
      disabled: { type: 'boolean' },
    });
  });
});

describe('BoxClient reads the shapes real Box deployments send', () => {
  let canonical: DeviceAccess[];
  const setShapes = (...shapeVariants: ShapeVariant[]) => emulators.box.http.setFaults({ shapeVariants });

  beforeAll(async () => {
    canonical = await boxClient(emulators.urls.box).listDevices();
  });

  it('reads the canonical answer into every device Box holds', () => {
    expect(canonical.map((d) => d.cuid).sort()).toEqual(boxTarget(emulators).expectedCuids.sort());
    expect(canonical.every((d) => d.name !== null && d.loginBlocked !== null)).toBe(true);
  });

  it('reads real records: a type, sys* fields, "true"/"false" strings, no count', async () => {
    setShapes('altSpellings');
    // What real records carry beside chapter 6's fields (fhc's fixture).
    const { json: body } = await call<{ list: Array<{ type: string; fields: Record<string, unknown> }> }>(
      'list',
      {},
    );
    expect(body.list.every((r) => r.type === 'mam_Devices' && typeof r.fields.sysCreated === 'string')).toBe(
      true,
    );
    expect(body.list.some((r) => typeof r.fields.disabled === 'string')).toBe(true);
    expect(await boxClient(emulators.urls.box).listDevices()).toEqual(canonical);
    // Seeded: the fault sequence is the same every run, and a later list leaves `count` out.
    let withoutCount = false;
    for (let i = 0; i < 10 && !withoutCount; i++)
      withoutCount = (await call<{ count?: number }>('list', {})).json.count === undefined;
    expect(withoutCount).toBe(true);
  });

  it('reads read, listapps and listusers in real spellings', async () => {
    const client = boxClient(emulators.urls.box);
    const cuid = canonical[0]!.cuid;
    const [device, apps, users] = [
      await client.readDevice(cuid),
      await client.listApps(cuid),
      await client.listUsers(cuid),
    ];
    setShapes('altSpellings', 'numbersAsStrings', 'addUnknown');
    expect(await client.readDevice(cuid)).toEqual(device);
    expect(await client.listApps(cuid)).toEqual(apps);
    expect(await client.listUsers(cuid)).toEqual(users);
  });

  it('reads unknown fields and numbers as strings as the same devices', async () => {
    setShapes('addUnknown', 'numbersAsStrings');
    expect(await boxClient(emulators.urls.box).listDevices()).toEqual(canonical);
  });

  it('turns missing or null optional fields into null, never dropping the record', async () => {
    setShapes('dropOptional', 'nullOptionals');
    const varied = await boxClient(emulators.urls.box).listDevices();
    expect(varied.map((d) => [d.guid, d.cuid])).toEqual(canonical.map((d) => [d.guid, d.cuid]));
    expect(varied.some((d) => d.name === null)).toBe(true);
    expect(varied.some((d) => d.loginBlocked === null)).toBe(true);
    varied.forEach((d, i) => {
      const was = canonical[i]!;
      for (const key of ['name', 'loginBlocked', 'purgeAppDataOnNextLogin'] as const) {
        expect([null, was[key]]).toContain(d[key]);
      }
    });
  });

  it('reads error envelopes spelled with msg', async () => {
    setShapes('altSpellings');
    const notFound = await call('read', { cuid: 'NO-SUCH-DEVICE' });
    expect(notFound.json).toEqual({ status: 'error', msg: 'Device not found: NO-SUCH-DEVICE' });
    const error = await failure(boxClient(emulators.urls.box, 'not-the-key').listDevices());
    expect(error.code).toBe('UPSTREAM_AUTH_FAILED');
    expect(error.message).toBe(
      `Box answered HTTP 401 on POST ${LIST}: Unauthorised: a valid X-FH-AUTH-USER API key is required`,
    );
  });

  it('fails an HTML page sent with 200 as UPSTREAM_ERROR naming Box and the endpoint', async () => {
    setShapes('htmlError');
    const error = await failure(boxClient(emulators.urls.box).listDevices());
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.message).toBe(`Box answered text/html instead of JSON on POST ${LIST}`);
  });
});

describe('BoxClient against fixed answers', () => {
  /** A server that answers every request with one fixed reply, counting requests. */
  async function answering(status: number, body: string, contentType = 'application/json') {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(status, { 'content-type': contentType }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      client: boxClient(`http://127.0.0.1:${port}`),
      requests: () => requests,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  let stub: Awaited<ReturnType<typeof answering>> | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('reads records with extra fields and without optional ones', async () => {
    // The first record as fhc's fixture shows a real one; the second with only its identity.
    stub = await answering(
      200,
      JSON.stringify({
        status: 'ok',
        count: 20,
        list: [
          {
            guid: 'xqumt5wyw6dipverrrxsefhy',
            type: 'mam_Devices',
            fields: {
              blacklisted: false,
              businessObject: 'cluster/reseller/customer/domain/admin/app-store/device',
              cuid: 'E7F62D22426F4F95983DACF19986E840',
              disabled: 'true',
              domain: 'support',
              name: 'Test',
              sysCreated: '2015-07-31 15:34:40:151',
              sysGroupFlags: 31,
              sysModified: '2017-07-14 21:41:32:270',
              sysVersion: 5,
            },
          },
          { guid: 'd4k9w2m7x5c8v3b6n1q0zlpa', fields: { cuid: '352608112345751' } },
        ],
      }),
    );
    expect(await stub.client.listDevices()).toEqual([
      {
        guid: 'xqumt5wyw6dipverrrxsefhy',
        cuid: 'E7F62D22426F4F95983DACF19986E840',
        name: 'Test',
        loginBlocked: true,
        purgeAppDataOnNextLogin: false,
      },
      {
        guid: 'd4k9w2m7x5c8v3b6n1q0zlpa',
        cuid: '352608112345751',
        name: null,
        loginBlocked: null,
        purgeAppDataOnNextLogin: null,
      },
    ]);
  });

  it('fails a 200 carrying an error envelope with msg, with Box’s message', async () => {
    stub = await answering(200, JSON.stringify({ status: 'error', msg: 'Domain is suspended' }));
    const error = await failure(stub.client.listDevices());
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', upstream: 'BOX', endpoint: `POST ${LIST}` });
    expect(error.message).toBe(`Box answered status "error" on POST ${LIST}: Domain is suspended`);
  });

  it('reads fhc’s not-logged-in reply (msg, no status) for the error message', async () => {
    stub = await answering(
      401,
      JSON.stringify({ msg: 'Not logged in', address: { 'login-status': 'none' } }),
    );
    const error = await failure(stub.client.readDevice('X'));
    expect(error.code).toBe('UPSTREAM_AUTH_FAILED');
    expect(error.message).toBe('Box answered HTTP 401 on POST /box/srv/1.1/admin/device/read: Not logged in');
  });

  it('fails a record without cuid as UPSTREAM_ERROR naming the JSON path', async () => {
    stub = await answering(
      200,
      JSON.stringify({
        status: 'ok',
        list: [
          { guid: 'a', fields: { cuid: 'A', name: 'ok' } },
          { guid: 'b', fields: { name: 'no cuid' } },
        ],
      }),
    );
    const error = await failure(stub.client.listDevices());
    expect(error).toBeInstanceOf(UpstreamContractError);
    expect(error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      upstream: 'BOX',
      endpoint: `POST ${LIST}`,
      jsonPath: 'list[1].fields.cuid',
    });
    expect(error.message).toMatch(/^Box list: list\[1\]\.fields\.cuid: /);
  });

  it.each([
    ['no status', { list: [] }, 'status'],
    ['no list', { status: 'ok', count: 3 }, 'list'],
  ])('fails an envelope with %s naming the path', async (_what, body, jsonPath) => {
    stub = await answering(200, JSON.stringify(body));
    expect(await failure(stub.client.listDevices())).toMatchObject({ code: 'UPSTREAM_ERROR', jsonPath });
  });

  it('fails an HTML page with status 200 as UPSTREAM_ERROR, once (no retry of a 200)', async () => {
    stub = await answering(200, '<!DOCTYPE html><html><body>Service Unavailable</body></html>', 'text/html');
    const error = await failure(stub.client.listApps('X'));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', upstream: 'BOX', status: 200 });
    expect(error.message).toBe(
      'Box answered text/html instead of JSON on POST /box/srv/1.1/admin/device/listapps',
    );
    expect(stub.requests()).toBe(1);
  });
});
