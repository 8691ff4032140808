import type { z } from 'zod';
import {
  BoxDeviceAppListResponse,
  BoxDeviceListResponse,
  BoxDeviceReadResponse,
  BoxDeviceUserListResponse,
  BoxErrorResponse,
  boxErrorMessage,
} from '../../src/upstreams/box/box.wire.js';
import type { BoxCuidRequest, BoxDeviceUpdateRequest } from '../../src/upstreams/box/box.wire.js';
import { readWire } from '../../src/upstreams/wire-schema.js';
import { postJson, request } from '../helpers/http.js';
import type { HttpAnswer } from '../helpers/http.js';

/**
 * The Box admin devices API contract (chapter 6), run against any target that claims to speak it.
 * Every answer is read through the published schema in box.wire.ts (the one BoxClient reads with), so
 * the emulator cannot drift from what the client accepts; a misfit fails naming the JSON path.
 */
export interface BoxContractTarget {
  /** Domain host root, e.g. http://127.0.0.1:4103. */
  url: string;
  apiKey: string;
  expectedCuids: string[];
  /** A device this test may rename and block (it restores nothing). */
  writableCuid: string;
}

/** A record as chapter 6 shows it; real servers add fields, which the contract allows. */
const documentedDevice = {
  guid: expect.any(String),
  fields: expect.objectContaining({
    cuid: expect.any(String),
    name: expect.any(String),
    disabled: expect.any(Boolean),
    blacklisted: expect.any(Boolean),
  }),
};

export function boxContract(target: () => BoxContractTarget): void {
  let t: BoxContractTarget;
  const admin = (path: string) => `${t.url}/box/srv/1.1/admin/device/${path}`;
  const call = (path: string, body: unknown, apiKey = t.apiKey) =>
    postJson(admin(path), body, { 'x-fh-auth-user': apiKey });
  /** The answer read through its wire schema, as BoxClient reads it. */
  const read = <S extends z.ZodType>(schema: S, answer: HttpAnswer, endpoint: string): z.output<S> =>
    readWire(schema, answer.json, { upstream: 'BOX', endpoint, status: answer.status });
  const expectError = (answer: HttpAnswer, status: number) => {
    expect(answer.status).toBe(status);
    const error = read(BoxErrorResponse, answer, 'error');
    expect(boxErrorMessage(error)).toEqual(expect.stringMatching(/\S/));
  };

  beforeAll(() => {
    t = target();
  });

  it('lists every device with POST, and with GET as fhc sends it', async () => {
    const post = await call('list', {});
    expect(post.status).toBe(200);
    const list = read(BoxDeviceListResponse, post, 'list');
    expect(list.list.map((d) => d.fields.cuid).sort()).toEqual([...t.expectedCuids].sort());
    // `count` is optional; when sent it counts the whole fleet (fhc's fixture: 20 beside a list of 2).
    if (list.count !== null) expect(list.count).toBeGreaterThanOrEqual(list.list.length);
    expect(post.json).toMatchObject({ status: 'ok', list: expect.arrayContaining([documentedDevice]) });

    const get = await request('GET', admin('list'), undefined, { 'x-fh-auth-user': t.apiKey });
    expect(get.status).toBe(200);
    expect(read(BoxDeviceListResponse, get, 'list').list).toEqual(list.list);
  });

  it.each([
    ['no API key', undefined],
    ['a wrong API key', 'not-the-key'],
  ])('refuses a request with %s', async (_what, key) => {
    const res = key === undefined ? await postJson(admin('list'), {}) : await call('list', {}, key);
    expectError(res, 401);
  });

  it('reads one device by cuid', async () => {
    const body: BoxCuidRequest = { cuid: t.expectedCuids[0]! };
    const res = await call('read', body);
    expect(res.status).toBe(200);
    expect(read(BoxDeviceReadResponse, res, 'read')).toMatchObject({
      status: 'ok',
      fields: { cuid: t.expectedCuids[0] },
    });
    expect(res.json).toMatchObject(documentedDevice);
  });

  it.each([
    ['an unknown cuid', { cuid: 'NO-SUCH-DEVICE' }, 404],
    ['no cuid', {}, 400],
    ['a body that is not an object', [1, 2], 400],
  ])('answers an error envelope for %s', async (_what, body, status) => {
    expectError(await call('read', body), status);
  });

  it('updates name, disabled and blacklisted, keeps absent fields, and later reads see it', async () => {
    const before = read(BoxDeviceReadResponse, await call('read', { cuid: t.writableCuid }), 'read');
    const change: BoxDeviceUpdateRequest = {
      cuid: t.writableCuid,
      name: 'Front desk tablet',
      disabled: true,
      blacklisted: true,
    };
    const updated = read(BoxDeviceReadResponse, await call('update', change), 'update');
    expect(updated).toMatchObject({
      status: 'ok',
      guid: before.guid,
      fields: { name: 'Front desk tablet', disabled: true, blacklisted: true },
    });
    const partial: BoxDeviceUpdateRequest = { cuid: t.writableCuid, disabled: false };
    expect(read(BoxDeviceReadResponse, await call('update', partial), 'update').fields).toMatchObject({
      name: 'Front desk tablet',
      disabled: false,
      blacklisted: true,
    });
    const again = read(BoxDeviceReadResponse, await call('read', { cuid: t.writableCuid }), 'read');
    expect(again.fields).toMatchObject({ name: 'Front desk tablet', disabled: false, blacklisted: true });
    const listed = read(BoxDeviceListResponse, await call('list', {}), 'list');
    expect(listed.list.find((d) => d.fields.cuid === t.writableCuid)?.fields.name).toBe('Front desk tablet');
  });

  it('refuses an update with a field of the wrong type', async () => {
    expectError(await call('update', { cuid: t.writableCuid, disabled: 'yes' }), 400);
  });

  it("lists a device's apps and users", async () => {
    const cuid = t.expectedCuids[0]!;
    const appsAnswer = await call('listapps', { cuid });
    const apps = read(BoxDeviceAppListResponse, appsAnswer, 'listapps');
    expect(apps.list.length).toBeGreaterThan(0);
    expect(appsAnswer.json).toMatchObject({
      status: 'ok',
      list: expect.arrayContaining([
        { guid: expect.any(String), fields: { name: expect.any(String), description: expect.any(String) } },
      ]),
    });
    const usersAnswer = await call('listusers', { cuid });
    const users = read(BoxDeviceUserListResponse, usersAnswer, 'listusers');
    expect(users.list.length).toBeGreaterThan(0);
    expect(users.list.every((u) => u.fields.email?.includes('@'))).toBe(true);
    expectError(await call('listapps', { cuid: 'NO-SUCH-DEVICE' }), 404);
    expectError(await call('listusers', { cuid: 'NO-SUCH-DEVICE' }), 404);
  });
}
