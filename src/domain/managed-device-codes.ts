/**
 * Knox Manage's one- and two-letter device codes in words a frontend understands. The codes are what
 * the Knox Manage Open API documents (reference/knox-manage-openapi.json): platform "A : Android,
 * I : iOS, W : Windows" (UpdateProfileSchema, GetQueuedCmdCntSchema) and ownerShip "E : BYOD, EC : COPE,
 * C : Company" (CreateDeviceReqSchema, UserDevices).
 *
 * The mapping runs when the graph serves a record, not in the mapper: ManagedDevice records keep Knox's
 * raw code (the fleet index filters by it, and records cached or indexed before a code was known stay
 * readable), and a code the reference does not list becomes OTHER rather than an error.
 */
export type DevicePlatform = 'ANDROID' | 'IOS' | 'WINDOWS' | 'OTHER';
export type DeviceOwnership = 'BYOD' | 'COPE' | 'COMPANY_OWNED' | 'OTHER';

export const PLATFORM_OF_CODE: Readonly<Record<string, Exclude<DevicePlatform, 'OTHER'>>> = {
  A: 'ANDROID',
  I: 'IOS',
  W: 'WINDOWS',
};

export const OWNERSHIP_OF_CODE: Readonly<Record<string, Exclude<DeviceOwnership, 'OTHER'>>> = {
  E: 'BYOD',
  EC: 'COPE',
  C: 'COMPANY_OWNED',
};

/**
 * Knox spells its codes in upper case; a padded or lower-case code is read as the same code. The fleet
 * index stores codes in this form, so the platform filter finds every device the graph shows as that platform.
 */
export const canonicalCode = (code: string | null | undefined): string | null => {
  const trimmed = code?.trim();
  return trimmed ? trimmed.toUpperCase() : null;
};

/** Null when Knox Manage sent no code; OTHER for one the reference does not document. */
export function platformOf(code: string | null | undefined): DevicePlatform | null {
  const known = canonicalCode(code);
  if (known === null) return null;
  return Object.hasOwn(PLATFORM_OF_CODE, known) ? PLATFORM_OF_CODE[known]! : 'OTHER';
}

/** Null when Knox Manage sent no code; OTHER for one the reference does not document. */
export function ownershipOf(code: string | null | undefined): DeviceOwnership | null {
  const known = canonicalCode(code);
  if (known === null) return null;
  return Object.hasOwn(OWNERSHIP_OF_CODE, known) ? OWNERSHIP_OF_CODE[known]! : 'OTHER';
}

/** Knox Manage's code for a platform, for filters; null for OTHER, which stands for no single code. */
export function platformCodeOf(platform: DevicePlatform): string | null {
  return Object.entries(PLATFORM_OF_CODE).find(([, p]) => p === platform)?.[0] ?? null;
}
