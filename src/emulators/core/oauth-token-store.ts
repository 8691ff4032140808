import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Access tokens an emulator has issued. Expired tokens are remembered so a 401 can say "expired" rather
 * than "invalid", as real authorization servers do; `expireAll()` is the token-expiry fault.
 */
export interface TokenGrant {
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

export type TokenCheck =
  { ok: true; grant: TokenGrant } | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

export class OAuthTokenStore {
  private readonly grants = new Map<string, TokenGrant>();
  private issuedCount = 0;

  constructor(private readonly format: 'opaque' | 'uuid') {}

  issue(clientId: string, scopes: string[], ttlSeconds: number): { token: string; grant: TokenGrant } {
    const token = this.format === 'uuid' ? randomUUID() : randomBytes(32).toString('base64url');
    const grant: TokenGrant = { clientId, scopes, expiresAt: Date.now() + ttlSeconds * 1000 };
    this.grants.set(token, grant);
    this.issuedCount += 1;
    return { token, grant };
  }

  check(token: string | null): TokenCheck {
    if (!token) return { ok: false, reason: 'missing' };
    const grant = this.grants.get(token);
    if (!grant) return { ok: false, reason: 'invalid' };
    if (grant.expiresAt <= Date.now()) return { ok: false, reason: 'expired' };
    return { ok: true, grant };
  }

  /** Every token issued so far stops working now; clients must fetch a new one. */
  expireAll(): number {
    const now = Date.now();
    let expired = 0;
    for (const grant of this.grants.values()) {
      if (grant.expiresAt > now) {
        grant.expiresAt = now;
        expired += 1;
      }
    }
    return expired;
  }

  get issued(): number {
    return this.issuedCount;
  }
}
