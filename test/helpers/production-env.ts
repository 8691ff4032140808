import type { RunningEmulators } from '../../src/emulators/start-emulators.js';
import { signCallerToken } from '../../src/server/dev-token.js';
import { emulatorEnv } from '../../src/server/embedded-upstreams.js';

/** A caller-auth secret for tests (32+ characters, as production requires). */
export const TEST_JWT_SECRET = 'test-secret-for-fleetgraph-callers-0123456789';

/** The environment an operator sets for production, pointed at running emulators as the real APIs. */
export function productionEnv(
  emulators: RunningEmulators,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    ...emulatorEnv(emulators.urls),
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
