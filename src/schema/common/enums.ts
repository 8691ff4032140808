import { registerEnumType } from 'type-graphql';

/** The APIs behind the graph. Values equal names, so type-graphql and federation resolvers agree. */
export enum UpstreamEnum {
  KDMS = 'KDMS',
  KNOX_MANAGE = 'KNOX_MANAGE',
  BOX = 'BOX',
}
registerEnumType(UpstreamEnum, {
  name: 'Upstream',
  description: 'An API Fleetgraph reads devices from.',
  valuesConfig: {
    KDMS: { description: 'Samsung Knox Device Management Service: device registration (upload, delete).' },
    KNOX_MANAGE: { description: 'Samsung Knox Manage: device management, users.' },
    BOX: { description: 'Red Hat Mobile Application Platform admin API: device access, apps, device users.' },
  },
});

export enum ManagementStatusEnum {
  DEACTIVATED = 'DEACTIVATED',
  PROVISIONED = 'PROVISIONED',
  ACTIVATED = 'ACTIVATED',
  BLOCKED = 'BLOCKED',
  BLOCKED_BY_SYSTEM = 'BLOCKED_BY_SYSTEM',
  BLOCKED_BY_ADMIN = 'BLOCKED_BY_ADMIN',
  LICENSE_EXPIRED = 'LICENSE_EXPIRED',
}
registerEnumType(ManagementStatusEnum, {
  name: 'ManagementStatus',
  description: "A device's status in Knox Manage (its codes I, P, A, B, BS, BA, BL).",
  valuesConfig: {
    DEACTIVATED: { description: 'I: deactivated.' },
    PROVISIONED: { description: 'P: provisioned, not yet activated.' },
    ACTIVATED: { description: 'A: activated and managed.' },
    BLOCKED: { description: 'B: blocked.' },
    BLOCKED_BY_SYSTEM: { description: 'BS: blocked by the system.' },
    BLOCKED_BY_ADMIN: { description: 'BA: blocked by an administrator.' },
    LICENSE_EXPIRED: { description: 'BL: blocked because the license expired.' },
  },
});

export enum DevicePlatformEnum {
  ANDROID = 'ANDROID',
  IOS = 'IOS',
  WINDOWS = 'WINDOWS',
  OTHER = 'OTHER',
}
registerEnumType(DevicePlatformEnum, {
  name: 'DevicePlatform',
  description:
    "A device's operating system family, read from Knox Manage's platform code (ManagedDevice.platformCode keeps the code itself).",
  valuesConfig: {
    ANDROID: { description: 'Android (Knox Manage code A).' },
    IOS: { description: 'iOS or iPadOS (Knox Manage code I).' },
    WINDOWS: { description: 'Windows (Knox Manage code W).' },
    OTHER: {
      description:
        'A code the Knox Manage API reference does not document (see platformCode). Not usable as a filter.',
    },
  },
});

export enum DeviceOwnershipEnum {
  BYOD = 'BYOD',
  COPE = 'COPE',
  COMPANY_OWNED = 'COMPANY_OWNED',
  OTHER = 'OTHER',
}
registerEnumType(DeviceOwnershipEnum, {
  name: 'DeviceOwnership',
  description:
    "Who owns a device and how it is enrolled, read from Knox Manage's ownership code (ManagedDevice.ownershipCode keeps the code itself).",
  valuesConfig: {
    BYOD: { description: "Bring your own device: the employee's own device (Knox Manage code E)." },
    COPE: { description: 'Corporate-owned, personally enabled (Knox Manage code EC).' },
    COMPANY_OWNED: { description: 'Owned by the company, for work use (Knox Manage code C).' },
    OTHER: { description: 'A code the Knox Manage API reference does not document (see ownershipCode).' },
  },
});
