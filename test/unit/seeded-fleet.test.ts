import { isValidImei, isValidSerialNumber } from '../../src/domain/device-identifiers.js';
import { createSeededFleet } from '../../src/emulators/fleet/seeded-fleet.js';

describe('seeded fleet', () => {
  const fleet = createSeededFleet();

  it('is the same for the same seed and size, and differs for another seed', () => {
    expect(createSeededFleet()).toEqual(fleet);
    expect(createSeededFleet({ seed: 'other' }).devices[0]).not.toEqual(fleet.devices[0]);
    expect(createSeededFleet({ size: 10 }).devices).toHaveLength(10);
  });

  it('holds 1,000 devices by default with valid, unique identifiers', () => {
    expect(fleet.devices).toHaveLength(1000);
    const ids = fleet.devices.flatMap((d) =>
      [d.imei, d.secondaryImei, d.serialNumber].filter((x): x is string => x !== null),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(fleet.devices.every((d) => d.imei === null || isValidImei(d.imei))).toBe(true);
    expect(fleet.devices.every((d) => d.secondaryImei === null || isValidImei(d.secondaryImei))).toBe(true);
    expect(fleet.devices.every((d) => isValidSerialNumber(d.serialNumber))).toBe(true);
    expect(fleet.devices.some((d) => d.imei === null)).toBe(true);
  });

  it('spreads devices over all three APIs, two of them, and one', () => {
    const pattern = (d: (typeof fleet.devices)[number]) =>
      [d.kdms, d.knoxManage, d.box].map((x) => (x ? 1 : 0)).join('');
    const counts = new Map<string, number>();
    for (const d of fleet.devices) counts.set(pattern(d), (counts.get(pattern(d)) ?? 0) + 1);
    for (const p of ['111', '110', '011', '101', '100', '010', '001'])
      expect(counts.get(p) ?? 0).toBeGreaterThan(10);
    expect(counts.get('000')).toBeUndefined();
    expect(counts.get('111')!).toBeGreaterThan(500);
  });

  it('names Box devices by IMEI, else serial number, and joins users across APIs', () => {
    const users = new Set(fleet.users.map((u) => u.userId));
    for (const d of fleet.devices) {
      if (d.box) {
        expect(d.box.cuid).toBe(d.imei ?? d.serialNumber);
        expect(d.box.appGuids.length).toBeGreaterThan(0);
        expect(d.box.userIds.every((u) => users.has(u))).toBe(true);
        if (d.knoxManage) expect(d.box.userIds).toContain(d.knoxManage.ownerUserId);
      }
      if (d.knoxManage) expect(users.has(d.knoxManage.ownerUserId)).toBe(true);
    }
  });

  it('keeps foreign IMEIs valid and outside the fleet', () => {
    const own = new Set(fleet.devices.flatMap((d) => [d.imei, d.secondaryImei]));
    expect(fleet.foreignImeis.length).toBeGreaterThan(0);
    expect(fleet.foreignImeis.every((i) => isValidImei(i) && !own.has(i))).toBe(true);
  });
});
