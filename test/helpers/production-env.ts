import { DEV_CREDENTIALS } from '../../src/emulators/dev-credentials.js';
import type { RunningEmulators } from '../../src/emulators/start-emulators.js';
import { signCallerToken } from '../../src/server/dev-token.js';

/** A caller-auth secret for tests (32+ characters, as production requires). */
export const TEST_JWT_SECRET = 'test-secret-for-fleetgraph-callers-0123456789';

/** The environment an operator sets for production, pointed at running emulators as the real APIs. */
export function productionEnv(
  emulators: RunningEmulators,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    KDMS_URL: `${emulators.urls.kdms}/kdms/v1`,
    KDMS_TOKEN_URL: `${emulators.urls.kdms}/ams/v1/oauth2/token`,
    KDMS_CLIENT_ID: DEV_CREDENTIALS.kdms.clientId,
    KDMS_CLIENT_SECRET: DEV_CREDENTIALS.kdms.clientSecret,
    KNOX_MANAGE_URL: emulators.urls.knoxManage,
    KNOX_MANAGE_CLIENT_ID: DEV_CREDENTIALS.knoxManage.clientId,
    KNOX_MANAGE_CLIENT_SECRET: DEV_CREDENTIALS.knoxManage.clientSecret,
    BOX_URL: emulators.urls.box,
    BOX_API_KEY: DEV_CREDENTIALS.box.apiKey,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    WEBHOOK_PUBLIC_URL: 'http://127.0.0.1:9/webhooks/knox',
    JOB_STORE_FILE: 'memory',
    READ_CACHE_TTL_MS: '0',
    ...extra,
  };
}

export function tokenWith(...scopes: string[]): Promise<string> {
  return signCallerToken(TEST_JWT_SECRET, { scopes });
}
