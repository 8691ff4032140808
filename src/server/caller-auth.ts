import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config/config.js';
import type { Principal } from '../domain/scopes.js';

/**
 * Caller authentication: a bearer JWT verified with jose, HS256 with a shared secret or any algorithm
 * a JWKS publishes. Scopes come OAuth-style, space-separated in the `scope` claim.
 */
export class AuthenticationError extends Error {}

export interface CallerAuthenticator {
  /** Null without an Authorization header; throws AuthenticationError for a bad one. */
  authenticate(authorization: string | undefined): Promise<Principal | null>;
}

export function createCallerAuthenticator(config: AuthConfig): CallerAuthenticator {
  const { clockSkewSeconds } = config;
  const key: Uint8Array | JWTVerifyGetKey = config.jwtSecret
    ? new TextEncoder().encode(config.jwtSecret)
    : createRemoteJWKSet(new URL(config.jwksUrl!));
  const options = {
    // A token without an expiry would be valid forever.
    requiredClaims: ['exp'],
    clockTolerance: clockSkewSeconds,
    ...(config.jwtSecret ? { algorithms: ['HS256'] } : {}),
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  return {
    async authenticate(authorization) {
      if (!authorization) return null;
      const match = /^bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!match?.[1]) throw new AuthenticationError('Authorization must be "Bearer <JWT>"');
      try {
        const { payload } =
          typeof key === 'function'
            ? await jwtVerify(match[1], key, options)
            : await jwtVerify(match[1], key, options);
        // jose checks iat's type, not its sense: a token "issued" in the future was minted wrongly or forged.
        if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + clockSkewSeconds)
          throw new AuthenticationError('Invalid bearer token: "iat" claim is in the future');
        const scope = typeof payload.scope === 'string' ? payload.scope : '';
        return {
          subject: payload.sub ?? 'unknown',
          scopes: new Set(scope.split(/\s+/).filter(Boolean)),
          expiresAt: payload.exp! * 1000, // requiredClaims: exp is there
        };
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        // jose's messages say what failed (expired, signature, claim) without echoing the token.
        throw new AuthenticationError(
          `Invalid bearer token: ${error instanceof Error ? error.message : 'verification failed'}`,
        );
      }
    },
  };
}
