import { ownershipOf, platformCodeOf, platformOf } from '../../src/domain/managed-device-codes.js';
import type { ManagedDevice } from '../../src/domain/fleet.js';
import { managedRow } from '../../src/fleet-index/index-rows.js';

/** Knox Manage's platform and ownership codes, as its API reference lists them, in words. */
describe('Knox Manage device codes', () => {
  it.each([
    ['A', 'ANDROID'],
    ['I', 'IOS'],
    ['W', 'WINDOWS'],
    [' a ', 'ANDROID'],
    ['T', 'OTHER'],
    ['Android', 'OTHER'],
    ['', null],
    [null, null],
    [undefined, null],
  ])('reads platform %p as %p', (code, platform) => {
    expect(platformOf(code)).toBe(platform);
  });

  it.each([
    ['E', 'BYOD'],
    ['EC', 'COPE'],
    ['C', 'COMPANY_OWNED'],
    ['ec', 'COPE'],
    ['X', 'OTHER'],
    ['  ', null],
    [null, null],
    [undefined, null],
  ])('reads ownership %p as %p', (code, ownership) => {
    expect(ownershipOf(code)).toBe(ownership);
  });

  it('gives back the code of each documented platform, and none for OTHER', () => {
    expect(['ANDROID', 'IOS', 'WINDOWS', 'OTHER'].map((p) => platformCodeOf(p as never))).toEqual([
      'A',
      'I',
      'W',
      null,
    ]);
  });

  it('are indexed as the graph reads them, so the platform filter finds a padded or lower-case code', () => {
    const device = { deviceId: 'd-1', platform: ' a ', tags: [] } as unknown as ManagedDevice;
    const row = managedRow(device, '2026-11-23T00:00:00.000Z');
    expect(row.platform).toBe(platformCodeOf(platformOf(device.platform)!));
    expect(row.platform).toBe('A');
  });
});
