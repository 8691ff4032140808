/**
 * Opaque Relay cursors. Inside: which phase of a listing and that upstream's own paging state (a KDMS
 * device id for `searchAfter`, or a row offset). Clients must treat them as opaque strings.
 */
export interface CursorState {
  phase: number;
  position: string | number | null;
}

export class CursorError extends Error {}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify({ v: 1, p: state.phase, c: state.position }), 'utf8').toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): CursorState {
  try {
    const raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v?: unknown;
      p?: unknown;
      c?: unknown;
    };
    const positionOk =
      raw.c === null ||
      typeof raw.c === 'string' ||
      (typeof raw.c === 'number' && Number.isInteger(raw.c) && raw.c >= 0);
    if (raw.v === 1 && typeof raw.p === 'number' && Number.isInteger(raw.p) && raw.p >= 0 && positionOk) {
      return { phase: raw.p, position: raw.c as string | number | null };
    }
  } catch {
    // fall through to the error below
  }
  throw new CursorError(`"${cursor.slice(0, 40)}" is not a cursor this API issued`);
}

/** Offset cursors for lists that page by row (users, a user's devices). */
export function encodeOffsetCursor(offset: number): string {
  return encodeCursor({ phase: 0, position: offset });
}

export function decodeOffsetCursor(cursor: string | null | undefined): number {
  if (!cursor) return 0;
  const state = decodeCursor(cursor);
  if (state.phase !== 0 || typeof state.position !== 'number')
    throw new CursorError('after is a cursor from another listing');
  return state.position;
}
