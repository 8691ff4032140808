import { SignJWT } from 'jose';
import { SCOPES } from '../domain/scopes.js';

/** An HS256 caller token for development and tests (`npm run token`), signed with AUTH_JWT_SECRET. */
export function signCallerToken(
  secret: string,
  options: { scopes?: string[]; subject?: string; expiresIn?: string } = {},
): Promise<string> {
  return new SignJWT({ scope: (options.scopes ?? Object.values(SCOPES)).join(' ') })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.subject ?? 'fleetgraph-dev')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(new TextEncoder().encode(secret));
}
