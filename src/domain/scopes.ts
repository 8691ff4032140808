/**
 * What a caller may do, as scopes in its bearer JWT (OAuth style: space-separated `scope` claim).
 * They mirror KDMS's own scopes.
 */
export const SCOPES = {
  read: 'devices:read',
  upload: 'devices:upload',
  delete: 'devices:delete',
  /** Access changes in Box (rename, block logins, purge app data). */
  write: 'devices:write',
  authenticateUsers: 'users:authenticate',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export interface Principal {
  subject: string;
  scopes: Set<string>;
  /** When the caller's token expires (epoch ms): long-lived connections end then. */
  expiresAt: number;
}
