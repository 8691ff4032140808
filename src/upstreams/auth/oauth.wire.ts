import { z } from 'zod';
import { count, id, text } from '../wire-schema.js';

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) as KDMS (Knox cloud) and Knox Manage speak it: the token
 * request is a form, the answer JSON. Knox Manage documents `token_type: "bearer"` and an `expires_in`
 * in seconds; Knox cloud answers `"Bearer"`. Both wire modules build their token contract from these.
 */

/** Used when a token answer carries no lifetime (RFC 6749 makes `expires_in` only RECOMMENDED). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 600;

export const OAuthTokenRequest = z.object({
  grant_type: z.literal('client_credentials'),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  /** Space-separated scopes; omitted means every scope the client was granted. */
  scope: z.string().optional(),
  /** Seconds (Knox cloud lets a caller shorten or extend the lifetime up to 60 minutes). */
  expires_in: z.string().regex(/^\d+$/).optional(),
});

export const OAuthTokenResponse = z.object({
  access_token: id(),
  token_type: text('"bearer" (Knox Manage) or "Bearer" (Knox cloud); either is sent back as "Bearer"'),
  expires_in: count('Seconds the token lives'),
  scope: text(),
});
export type OAuthTokenResponse = z.input<typeof OAuthTokenResponse>;

/** RFC 6749 §5.2 error body; also what a 401 on an API call carries (Knox Manage's `UnauthorizedSchema`). */
export const OAuthErrorResponse = z.object({
  error: text('e.g. invalid_client, invalid_token'),
  error_description: text(),
});
export type OAuthErrorResponse = z.input<typeof OAuthErrorResponse>;
