import { createHash } from 'node:crypto';

/**
 * Opaque Relay cursors. Inside: the list the cursor pages (and a tag of what narrowed it: its filter,
 * owner or upload), which phase of that listing, and that upstream's own paging state (a KDMS device id
 * for `searchAfter`, or a row offset). Clients must treat them as opaque strings; the graph treats them
 * as untrusted input: a cursor pages only the listing that issued it, and every field is checked before
 * any upstream is called.
 */

/** The lists that page, named as callers see them (the names appear in error messages). */
export type CursorList = 'devices' | 'users' | 'User.devices' | 'UploadJob.devices' | 'uploadJobs';

export interface CursorBinding {
  list: CursorList;
  /** What narrows the list. Positions mean nothing under another filter, owner or upload. */
  scope?: { kind: 'filter' | 'user' | 'upload' | 'status'; value: string };
}

/** How a phase pages: by the upstream's own key (KDMS `searchAfter`) or by a row offset. */
export type PositionKind = 'key' | 'offset';

export interface CursorState {
  phase: number;
  position: string | number;
}

export class CursorError extends Error {}

const VERSION = 2;
const LISTS: ReadonlySet<string> = new Set<CursorList>([
  'devices',
  'users',
  'User.devices',
  'UploadJob.devices',
  'uploadJobs',
]);
const FIELDS = ['v', 'k', 's', 'p', 'c'];
/** KDMS device ids are short; this bounds what a forged cursor can send upstream as `searchAfter`. */
const MAX_KEY_LENGTH = 512;
/** Longer than any cursor we issue (a key of MAX_KEY_LENGTH 4-byte characters, plus the envelope). */
const MAX_CURSOR_LENGTH = 4096;
/** Offsets are sent upstream as Knox Manage's `start` (a 32-bit integer) or used as list indexes. */
const MAX_OFFSET = 2_147_483_647;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** A short tag of the scope: enough to tell scopes apart, without echoing filters inside every cursor. */
function scopeTag(binding: CursorBinding): string {
  if (!binding.scope) return '';
  return createHash('sha256')
    .update(`${binding.scope.kind}\u0000${binding.scope.value}`)
    .digest('base64url')
    .slice(0, 16);
}

export function encodeCursor(binding: CursorBinding, state: CursorState): string {
  const raw = { v: VERSION, k: binding.list, s: scopeTag(binding), p: state.phase, c: state.position };
  return Buffer.from(JSON.stringify(raw), 'utf8').toString('base64url');
}

/**
 * The state inside `cursor`, checked against the listing asking (`binding`) and the position kind of
 * each of its phases. Throws CursorError (BAD_USER_INPUT) saying what is wrong.
 */
export function decodeCursor(
  cursor: string,
  binding: CursorBinding,
  phases: readonly PositionKind[],
): CursorState {
  const foreign = new CursorError('after: not a cursor Fleetgraph issued');
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw foreign;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw foreign;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw foreign;
  const fields = raw as Record<string, unknown>;
  if (fields.v === 1)
    throw new CursorError(
      `after: this cursor is from an older Fleetgraph; start \`${binding.list}\` without \`after\``,
    );
  if (fields.v !== VERSION) throw foreign;
  const unknown = Object.keys(fields).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined)
    throw new CursorError(`after: malformed cursor (unexpected field "${unknown.slice(0, 20)}")`);
  if (typeof fields.k !== 'string' || !LISTS.has(fields.k)) throw foreign;
  if (fields.k !== binding.list)
    throw new CursorError(
      `after: this cursor pages \`${fields.k}\`, not \`${binding.list}\`; start \`${binding.list}\` without \`after\``,
    );
  if (typeof fields.s !== 'string') throw new CursorError('after: malformed cursor (scope is not a string)');
  if (fields.s !== scopeTag(binding))
    throw new CursorError(
      `after: this cursor pages \`${binding.list}\` with another ${binding.scope?.kind ?? 'filter'}; page with the ${binding.scope?.kind ?? 'filter'} it was issued for, or start without \`after\``,
    );
  const phase = fields.p;
  if (typeof phase !== 'number' || !Number.isInteger(phase) || phase < 0 || phase >= phases.length)
    throw new CursorError(
      `after: malformed cursor (phase must be an integer from 0 to ${phases.length - 1})`,
    );
  const position = fields.c;
  if (phases[phase] === 'key') {
    if (
      typeof position !== 'string' ||
      position.length === 0 ||
      position.length > MAX_KEY_LENGTH ||
      CONTROL_CHARACTERS.test(position)
    )
      throw new CursorError(
        `after: malformed cursor (position must be an upstream key of 1 to ${MAX_KEY_LENGTH} printable characters)`,
      );
    return { phase, position };
  }
  if (typeof position !== 'number' || !Number.isInteger(position) || position < 0 || position > MAX_OFFSET)
    throw new CursorError(`after: malformed cursor (position must be an offset from 0 to ${MAX_OFFSET})`);
  return { phase, position };
}

/** Offset cursors for lists that page by row (users, a user's devices, upload jobs). */
export function encodeOffsetCursor(offset: number, binding: CursorBinding): string {
  return encodeCursor(binding, { phase: 0, position: offset });
}

export function decodeOffsetCursor(cursor: string | null | undefined, binding: CursorBinding): number {
  if (!cursor) return 0;
  return decodeCursor(cursor, binding, ['offset']).position as number;
}
