import { randomUUID } from 'node:crypto';
import { deviceIdOf } from '../../src/domain/device-ref.js';
import { parseNodeId, parseUserNodeId, userNodeIdOf } from '../../src/domain/node-id.js';

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Global ids: each names its kind, so node(id) needs no registry; what the graph never issues is refused. */
describe('node ids', () => {
  it('reads device ids as the device lookups they encode', () => {
    expect(parseNodeId(deviceIdOf({ imei: '490154203237518', serialNumber: null }))).toEqual({
      type: 'Device',
      lookup: { imei: '490154203237518' },
    });
    expect(parseNodeId(deviceIdOf({ imei: null, serialNumber: 'R58N12ABCDE' }))).toEqual({
      type: 'Device',
      lookup: { serialNumber: 'R58N12ABCDE' },
    });
  });

  it('round-trips user ids, whatever the Knox Manage user id holds', () => {
    for (const userId of ['jane.doe', 'user@example.com', 'ユーザー', 'a:b', 'sn:R58N12ABCDE']) {
      const id = userNodeIdOf(userId);
      expect(parseUserNodeId(id)).toBe(userId);
      expect(parseNodeId(id)).toEqual({ type: 'User', userId });
    }
  });

  it("reads Fleetgraph's UUIDs, and any other printable id (KDMS uploadIds of older jobs), as job ids", () => {
    const uuid = randomUUID();
    expect(parseNodeId(uuid)).toEqual({ type: 'UploadJob', id: uuid });
    expect(parseNodeId('upload-42')).toEqual({ type: 'UploadJob', id: 'upload-42' });
    // Hexadecimal, and it decodes to `sn:` and binary: still not a device id.
    const hex = 'c246f0a1b2c3d4e5f60718293a4b5c6d';
    expect(Buffer.from(hex, 'base64url').toString('utf8').startsWith('sn:')).toBe(true);
    expect(parseNodeId(hex)).toEqual({ type: 'UploadJob', id: hex });
  });

  it('keeps the three kinds apart', () => {
    const ids = [
      deviceIdOf({ imei: '490154203237518', serialNumber: null }),
      userNodeIdOf('490154203237518'),
      randomUUID(),
    ];
    expect(ids.map((id) => parseNodeId(id)?.type)).toEqual(['Device', 'User', 'UploadJob']);
  });

  it.each([
    ['an IMEI with a bad check digit', base64url('imei:490154203237519')],
    ['an empty user', base64url('user:')],
    ['a tagged id spelt another way (padding)', `${base64url('user:jane.doe')}=`],
    ['spaces', 'not an id'],
    ['nothing', ''],
    ['a control character', 'job\u0000'],
    ['more than 200 characters', 'x'.repeat(201)],
  ])('refuses %s', (_what, id) => {
    expect(parseNodeId(id)).toBeNull();
  });
});
