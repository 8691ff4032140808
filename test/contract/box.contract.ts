import type {
  BoxAppRecord,
  BoxDeviceListResponse,
  BoxDeviceReadResponse,
  BoxDeviceUserRecord,
  BoxErrorResponse,
  BoxListResponse,
} from '../../src/upstreams/box/box.wire.js';
import { postJson, request } from '../helpers/http.js';

/** The Box admin devices API contract, run against any target that claims to speak it. */
export interface BoxContractTarget {
  /** Domain host root, e.g. http://127.0.0.1:4103. */
  url: string;
  apiKey: string;
  expectedCuids: string[];
  /** A device this test may rename and block (it restores nothing). */
  writableCuid: string;
}

export function boxContract(target: () => BoxContractTarget): void {
  let t: BoxContractTarget;
  const admin = (path: string) => `${t.url}/box/srv/1.1/admin/device/${path}`;
  const call = <T>(path: string, body: unknown, apiKey = t.apiKey) =>
    postJson<T>(admin(path), body, { 'x-fh-auth-user': apiKey });

  beforeAll(() => {
    t = target();
  });

  it('lists every device with POST, and with GET as fhc sends it', async () => {
    const post = await call<BoxDeviceListResponse>('list', {});
    expect(post.status).toBe(200);
    expect(post.json.status).toBe('ok');
    expect(post.json.count).toBe(t.expectedCuids.length);
    expect(post.json.list.map((d) => d.fields.cuid).sort()).toEqual([...t.expectedCuids].sort());
    expect(post.json.list[0]).toEqual({
      guid: expect.any(String),
      type: 'mam_Devices',
      fields: expect.objectContaining({
        cuid: expect.any(String),
        name: expect.any(String),
        disabled: expect.any(Boolean),
        blacklisted: expect.any(Boolean),
      }),
    });
    const get = await request<BoxDeviceListResponse>('GET', admin('list'), undefined, {
      'x-fh-auth-user': t.apiKey,
    });
    expect(get.json.count).toBe(post.json.count);
  });

  it.each([
    ['no API key', undefined],
    ['a wrong API key', 'not-the-key'],
  ])('refuses a request with %s', async (_what, key) => {
    const res =
      key === undefined
        ? await postJson<BoxErrorResponse>(admin('list'), {})
        : await call<BoxErrorResponse>('list', {}, key);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ status: 'error', message: expect.any(String) });
  });

  it('reads one device by cuid', async () => {
    const res = await call<BoxDeviceReadResponse>('read', { cuid: t.expectedCuids[0] });
    expect(res.json).toMatchObject({
      status: 'ok',
      guid: expect.any(String),
      fields: { cuid: t.expectedCuids[0] },
    });
  });

  it.each([
    ['an unknown cuid', { cuid: 'NO-SUCH-DEVICE' }, 404],
    ['no cuid', {}, 400],
    ['a body that is not an object', [1, 2], 400],
  ])('answers an error envelope for %s', async (_what, body, status) => {
    const res = await call<BoxErrorResponse>('read', body);
    expect(res.status).toBe(status);
    expect(res.json.status).toBe('error');
    expect(res.json.message.length).toBeGreaterThan(0);
  });

  it('updates name, disabled and blacklisted, keeps absent fields, and later reads see it', async () => {
    const before = await call<BoxDeviceReadResponse>('read', { cuid: t.writableCuid });
    const updated = await call<BoxDeviceReadResponse>('update', {
      cuid: t.writableCuid,
      name: 'Front desk tablet',
      disabled: true,
      blacklisted: true,
    });
    expect(updated.json).toMatchObject({
      status: 'ok',
      guid: before.json.guid,
      fields: { name: 'Front desk tablet', disabled: true, blacklisted: true },
    });
    const partial = await call<BoxDeviceReadResponse>('update', { cuid: t.writableCuid, disabled: false });
    expect(partial.json.fields).toMatchObject({
      name: 'Front desk tablet',
      disabled: false,
      blacklisted: true,
    });
    const read = await call<BoxDeviceReadResponse>('read', { cuid: t.writableCuid });
    expect(read.json.fields).toMatchObject({ name: 'Front desk tablet', disabled: false, blacklisted: true });
    const listed = await call<BoxDeviceListResponse>('list', {});
    expect(listed.json.list.find((d) => d.fields.cuid === t.writableCuid)?.fields.name).toBe(
      'Front desk tablet',
    );
  });

  it('refuses an update with a field of the wrong type', async () => {
    const res = await call<BoxErrorResponse>('update', { cuid: t.writableCuid, disabled: 'yes' });
    expect(res.status).toBe(400);
    expect(res.json.status).toBe('error');
  });

  it("lists a device's apps and users", async () => {
    const apps = await call<BoxListResponse<BoxAppRecord>>('listapps', { cuid: t.expectedCuids[0] });
    expect(apps.json.status).toBe('ok');
    expect(apps.json.count).toBe(apps.json.list.length);
    expect(apps.json.list[0]).toEqual({
      guid: expect.any(String),
      fields: { name: expect.any(String), description: expect.any(String) },
    });
    const users = await call<BoxListResponse<BoxDeviceUserRecord>>('listusers', { cuid: t.expectedCuids[0] });
    expect(users.json.list[0]).toEqual({
      guid: expect.any(String),
      fields: { userId: expect.any(String), email: expect.stringContaining('@') },
    });
    expect((await call<BoxErrorResponse>('listapps', { cuid: 'NO-SUCH-DEVICE' })).status).toBe(404);
  });
}
