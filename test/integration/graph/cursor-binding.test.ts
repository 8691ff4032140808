import { withLuhnCheckDigit } from '../../../src/domain/device-identifiers.js';
import type { SeededFleet } from '../../../src/emulators/fleet/seeded-fleet.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';

/**
 * Issue 12, low item: "a `users` cursor is accepted by `devices`, and malformed cursor fields pass".
 * A cursor pages only the list (and the filter, owner or upload) it was issued for, and every field in
 * it is checked before any upstream is called: anything else is BAD_USER_INPUT with a clear message.
 */
let graph: TestGraph;
let fleet: SeededFleet;
beforeAll(async () => {
  graph = await startTestGraph();
  fleet = graph.emulators.fleet;
});
afterAll(() => graph.stop());

const DEVICES =
  'query ($after: String, $filter: DeviceFilterInput) { devices(first: 2, after: $after, filter: $filter) { pageInfo { endCursor } } }';
const USERS = 'query ($after: String) { users(first: 2, after: $after) { pageInfo { endCursor } } }';
const USER_DEVICES =
  'query ($u: ID!, $after: String) { user(userId: $u) { devices(first: 1, after: $after) { pageInfo { endCursor } } } }';

const endCursor = (body: GraphQLBody, ...path: string[]): string => {
  let node: unknown = body.data;
  for (const key of path) node = (node as Record<string, unknown>)[key];
  return (node as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
};

const owners = () =>
  fleet.users.filter((u) => fleet.devices.filter((d) => d.knoxManage?.ownerUserId === u.userId).length >= 2);

const NO_CALLS = { kdms: 0, knoxManage: 0, box: 0 };
/** Under `user(userId)`, the user's device list (which proves the user exists) is the parent's call. */
const USER_CHECK = { kdms: 0, knoxManage: 1, box: 0 };

/** The one BAD_USER_INPUT error of a refused page; the listing itself called no upstream. */
async function refused(
  query: string,
  variables: Record<string, unknown>,
  calls: typeof NO_CALLS | null = NO_CALLS,
): Promise<string> {
  graph.resetCalls();
  const { status, body } = await graph.post(query, variables);
  expect(status).toBe(200);
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  if (calls) expect(graph.upstreamCalls()).toEqual(calls);
  return body.errors![0]!.message;
}

describe('low item: a `users` cursor is accepted by `devices`, and malformed cursor fields pass', () => {
  let usersCursor: string;
  let devicesCursor: string;
  let boxCursor: string;
  let userDevicesCursor: string;
  beforeAll(async () => {
    usersCursor = endCursor((await graph.post(USERS)).body, 'users');
    devicesCursor = endCursor((await graph.post(DEVICES)).body, 'devices');
    boxCursor = endCursor((await graph.post(DEVICES, { filter: { source: 'BOX' } })).body, 'devices');
    userDevicesCursor = endCursor(
      (await graph.post(USER_DEVICES, { u: owners()[0]!.userId })).body,
      'user',
      'devices',
    );
  });

  it('refuses a cursor of one list on another, naming both', async () => {
    expect(await refused(DEVICES, { after: usersCursor })).toBe(
      'after: this cursor pages `users`, not `devices`; start `devices` without `after`',
    );
    expect(await refused(USERS, { after: devicesCursor })).toBe(
      'after: this cursor pages `devices`, not `users`; start `users` without `after`',
    );
    expect(await refused(USER_DEVICES, { u: owners()[0]!.userId, after: usersCursor }, USER_CHECK)).toContain(
      'this cursor pages `users`, not `User.devices`',
    );
  });

  it('refuses a cursor issued for another filter or another user', async () => {
    expect(await refused(DEVICES, { after: boxCursor })).toBe(
      'after: this cursor pages `devices` with another filter; page with the filter it was issued for, or start without `after`',
    );
    expect(await refused(DEVICES, { after: devicesCursor, filter: { source: 'KDMS' } })).toContain(
      'with another filter',
    );
    expect(
      await refused(USER_DEVICES, { u: owners()[1]!.userId, after: userDevicesCursor }, USER_CHECK),
    ).toContain('pages `User.devices` with another user');
  });

  it('still pages with the cursor it issued, under the same filter', async () => {
    const next = await graph.post(DEVICES, { after: boxCursor, filter: { source: 'BOX' } });
    expect(next.body.errors).toBeUndefined();
    const again = await graph.post(USER_DEVICES, { u: owners()[0]!.userId, after: userDevicesCursor });
    expect(again.body.errors).toBeUndefined();
  });

  describe('checks every field of the cursor', () => {
    const decode = (cursor: string) =>
      JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

    it.each<[string, Record<string, unknown>]>([
      ['a negative offset', { c: -1 }],
      ['a fractional offset', { c: 1.5 }],
      ['an offset beyond any list', { c: 2 ** 53 }],
      ['an offset given as a string', { c: '7' }],
      ['no offset', { c: null }],
      ['a phase the list does not have', { p: 3 }],
      ['a fractional phase', { p: 0.5 }],
      ['an unknown version', { v: 99 }],
      ['an unknown list', { k: 'uploadJobz' }],
      ['a scope that is not a string', { s: 7 }],
      ['an unknown field', { x: 1 }],
    ])('users: %s', async (_what, patch) => {
      const forged = encode({ ...decode(usersCursor), ...patch });
      expect(await refused(USERS, { after: forged })).toMatch(/^after: /);
    });

    it.each<[string, Record<string, unknown>]>([
      ['a KDMS position that is a number', { p: 0, c: 12 }],
      ['an empty KDMS position', { p: 0, c: '' }],
      ['an oversized KDMS position', { p: 0, c: 'x'.repeat(1000) }],
      ['a KDMS position with control characters', { p: 0, c: 'a\u0000b' }],
      ['a Knox Manage phase with a KDMS position', { p: 1, c: 'abc' }],
      ['a phase beyond Box', { p: 3, c: 0 }],
    ])('devices: %s', async (_what, patch) => {
      const forged = encode({ ...decode(devicesCursor), ...patch });
      expect(await refused(DEVICES, { after: forged })).toMatch(/^after: /);
    });

    it.each<[string, string]>([
      ['not base64url JSON', 'bm90LWEtY3Vyc29y'],
      ['JSON that is not an object', Buffer.from('[1,2]').toString('base64url')],
      ['an oversized cursor', 'A'.repeat(5000)],
    ])('any list: %s', async (_what, forged) => {
      expect(await refused(DEVICES, { after: forged })).toBe('after: not a cursor Fleetgraph issued');
    });
  });

  it('refuses an upload job cursor from another list', async () => {
    const imei = withLuhnCheckDigit('35000012345678');
    const { uploadDevices: job } = await graph.sdk.UploadDevices({ input: { imeis: [imei] } });
    const message = await refused(
      'query ($id: ID!, $after: String) { uploadJob(id: $id) { devices(first: 1, after: $after) { edges { cursor } } } }',
      { id: job.id, after: devicesCursor },
      // The job's own upload settles in the background meanwhile: KDMS calls are not this page's.
      null,
    );
    expect(message).toContain('this cursor pages `devices`, not `UploadJob.devices`');
  });
});
