import { parseDeviceId } from './device-ref.js';
import type { DeviceLookup } from './device-ref.js';

/**
 * Global object ids (the `Node` interface, `node(id)`): every id the graph issues says which kind of
 * object it names, without a registry.
 *
 * - Device: base64url of `imei:<IMEI>` or `sn:<serial>` (device-ref.ts, unchanged).
 * - User: base64url of `user:<userId>`; `userId` stays the federation key and Knox Manage's id.
 * - UploadJob: Fleetgraph's own job id, a UUID, as the job store keys it. Jobs recorded by earlier
 *   releases carry KDMS's uploadId instead, whose format KDMS does not publish, so any other printable id
 *   is looked up as a job too (and is simply not found when it is none).
 *
 * UUIDs are tried first: a device or user id can never take their shape, since its first characters
 * encode the `imei:`, `sn:` or `user:` tag, which are not all hexadecimal.
 */
export type NodeKey =
  | { type: 'Device'; lookup: DeviceLookup }
  | { type: 'User'; userId: string }
  | { type: 'UploadJob'; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** KDMS's uploadIds as job ids of earlier releases: printable ASCII without spaces, as bounded as keys are. */
const LEGACY_JOB_ID = /^[\x21-\x7e]{1,200}$/;
const TAGGED = /^(imei|sn|user):/;

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

export function userNodeIdOf(userId: string): string {
  return encode(`user:${userId}`);
}

/** The Knox Manage user id inside a User's node id, or null when `id` is not one. */
export function parseUserNodeId(id: string): string | null {
  const decoded = Buffer.from(id, 'base64url').toString('utf8');
  if (!decoded.startsWith('user:') || decoded.length === 'user:'.length) return null;
  // Only the one spelling the graph issues: base64url decoding skips stray characters.
  return encode(decoded) === id ? decoded.slice('user:'.length) : null;
}

/** What a node id names, or null when it is not an id the graph issues (malformed). */
export function parseNodeId(id: string): NodeKey | null {
  if (UUID.test(id)) return { type: 'UploadJob', id };
  const lookup = parseDeviceId(id);
  if (lookup) return { type: 'Device', lookup };
  const userId = parseUserNodeId(id);
  if (userId !== null) return { type: 'User', userId };
  // One of the graph's tagged ids whose value does not read (`imei:` with a bad check digit), or padded:
  // damaged, not an old job's id. It must encode back to itself: a hexadecimal uploadId such as
  // `c246…` also decodes to `sn:` and binary, and stays a job id.
  const decoded = Buffer.from(id, 'base64url').toString('utf8');
  if (TAGGED.test(decoded) && encode(decoded) === id.replace(/=+$/, '')) return null;
  return LEGACY_JOB_ID.test(id) ? { type: 'UploadJob', id } : null;
}
