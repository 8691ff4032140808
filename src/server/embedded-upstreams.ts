import type { UpstreamsConfig } from '../config/config.js';
import { DEV_CREDENTIALS } from '../emulators/dev-credentials.js';
import type { RunningEmulators, StartEmulatorsOptions } from '../emulators/start-emulators.js';
import { KDMS_API_PREFIX, KDMS_TOKEN_PATH, KWN_CERTIFICATE_PATH } from '../upstreams/kdms/kdms.wire.js';

/** Upstream settings that point at running emulators with the development credentials. */
export function emulatorUpstreams(emulators: RunningEmulators): UpstreamsConfig {
  return {
    kdms: {
      url: emulators.urls.kdms + KDMS_API_PREFIX,
      tokenUrl: emulators.urls.kdms + KDMS_TOKEN_PATH,
      kwnUrl: emulators.urls.kdms,
      certificateUrl: emulators.urls.kdms + KWN_CERTIFICATE_PATH,
      ...DEV_CREDENTIALS.kdms,
      scope: 'kdms.devices',
    },
    knoxManage: { url: emulators.urls.knoxManage, ...DEV_CREDENTIALS.knoxManage },
    box: { url: emulators.urls.box, apiKey: DEV_CREDENTIALS.box.apiKey },
  };
}

/**
 * The environment that points a Fleetgraph process at running emulators as if they were the real APIs
 * (what an operator sets for real upstreams, with the emulators' development credentials).
 */
export function emulatorEnv(urls: RunningEmulators['urls']): Record<string, string> {
  return {
    KDMS_URL: urls.kdms + KDMS_API_PREFIX,
    KDMS_TOKEN_URL: urls.kdms + KDMS_TOKEN_PATH,
    KDMS_CLIENT_ID: DEV_CREDENTIALS.kdms.clientId,
    KDMS_CLIENT_SECRET: DEV_CREDENTIALS.kdms.clientSecret,
    KNOX_MANAGE_URL: urls.knoxManage,
    KNOX_MANAGE_CLIENT_ID: DEV_CREDENTIALS.knoxManage.clientId,
    KNOX_MANAGE_CLIENT_SECRET: DEV_CREDENTIALS.knoxManage.clientSecret,
    BOX_URL: urls.box,
    BOX_API_KEY: DEV_CREDENTIALS.box.apiKey,
  };
}

/** Starts the emulators on their usual ports, or on free ones when those are taken (e.g. by `npm run emulators`). */
export async function startEmbeddedEmulators(options: StartEmulatorsOptions): Promise<RunningEmulators> {
  // Loaded only here: a server with real upstreams never holds the emulators' code (18 MB of RSS).
  const { startEmulators } = await import('../emulators/start-emulators.js');
  try {
    return await startEmulators(options);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    return startEmulators({ ...options, ports: { kdms: 0, knoxManage: 0, box: 0 } });
  }
}
