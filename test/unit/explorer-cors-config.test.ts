import { ConfigError, loadConfig } from '../../src/config/config.js';
import type { FleetgraphConfig } from '../../src/config/config.js';
import { emulatorEnv } from '../../src/server/embedded-upstreams.js';
import { corsAllows } from '../../src/server/cors.js';
import { TEST_JWT_SECRET } from '../helpers/production-env.js';

/** EXPLORER (and its former name GRAPHQL_SANDBOX), CORS_ORIGINS and CORS_CREDENTIALS as loadConfig reads them. */
const APP = 'https://app.example.com';
const UNREACHABLE = 'http://127.0.0.1:9';
/** A complete production configuration (nothing is contacted: loadConfig only reads it). */
const PRODUCTION = {
  NODE_ENV: 'production',
  ...emulatorEnv({ kdms: UNREACHABLE, knoxManage: UNREACHABLE, box: UNREACHABLE }),
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  WEBHOOK_PUBLIC_URL: `${UNREACHABLE}/webhooks/knox`,
};
const development = (env: Record<string, string> = {}): FleetgraphConfig =>
  loadConfig({ NODE_ENV: 'development', ...env });
const production = (env: Record<string, string> = {}): FleetgraphConfig =>
  loadConfig({ ...PRODUCTION, ...env });

function problems(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe('EXPLORER', () => {
  it('is auto in development and test, off in production', () => {
    expect(development().explorer).toBe('auto');
    expect(loadConfig({ NODE_ENV: 'test' }).explorer).toBe('auto');
    expect(production().explorer).toBe('off');
  });

  it('picks one explorer outright, in any mode', () => {
    for (const mode of ['auto', 'sandbox', 'graphiql', 'off'] as const) {
      expect(development({ EXPLORER: mode }).explorer).toBe(mode);
      expect(production({ EXPLORER: mode }).explorer).toBe(mode);
    }
  });

  it('still reads GRAPHQL_SANDBOX, its former name: true = auto, false = off', () => {
    expect(development({ GRAPHQL_SANDBOX: 'false' }).explorer).toBe('off');
    expect(production({ GRAPHQL_SANDBOX: 'true' }).explorer).toBe('auto');
  });

  it('refuses an unknown mode, and both names at once', () => {
    expect(problems(() => development({ EXPLORER: 'playground' }))).toEqual([
      'EXPLORER must be one of auto, sandbox, graphiql, off, got "playground"',
    ]);
    expect(problems(() => development({ EXPLORER: 'graphiql', GRAPHQL_SANDBOX: 'false' }))).toEqual([
      'set EXPLORER or GRAPHQL_SANDBOX (its former name), not both',
    ]);
  });
});

describe('CORS_ORIGINS and CORS_CREDENTIALS', () => {
  it('development without CORS_ORIGINS: pages on this machine, on any port', () => {
    const { cors } = development();
    expect(cors).toEqual({ origins: [], loopback: true, credentials: false });
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:3000',
      'https://localhost',
      'http://[::1]:8080',
    ])
      expect(corsAllows(cors, origin)).toBe(true);
    for (const origin of [APP, 'http://localhost.example.com', 'null', 'file://', 'http://127.0.0.2:3000'])
      expect(corsAllows(cors, origin)).toBe(false);
    expect(corsAllows(cors, undefined)).toBe(false);
  });

  it('production without CORS_ORIGINS: no other origin, localhost neither', () => {
    const { cors } = production();
    expect(cors).toEqual({ origins: [], loopback: false, credentials: false });
    expect(corsAllows(cors, 'http://localhost:5173')).toBe(false);
    expect(corsAllows(cors, APP)).toBe(false);
  });

  it('takes exact origins, and only them (a set CORS_ORIGINS replaces the loopback default)', () => {
    const { cors } = development({
      CORS_ORIGINS: `${APP}, https://admin.example.com:8443/`,
      CORS_CREDENTIALS: 'true',
    });
    expect(cors).toEqual({
      origins: [APP, 'https://admin.example.com:8443'],
      loopback: false,
      credentials: true,
    });
    expect(corsAllows(cors, APP)).toBe(true);
    expect(corsAllows(cors, 'https://admin.example.com:8443')).toBe(true);
    expect(corsAllows(cors, 'https://admin.example.com')).toBe(false);
    expect(corsAllows(cors, `${APP}.evil.example`)).toBe(false);
    expect(corsAllows(cors, 'http://localhost:5173')).toBe(false);
    expect(production({ CORS_ORIGINS: APP }).cors.origins).toEqual([APP]);
    expect(development({ CORS_ORIGINS: 'none' }).cors).toEqual({
      origins: [],
      loopback: false,
      credentials: false,
    });
  });

  it('refuses what is not an origin, naming it', () => {
    expect(problems(() => development({ CORS_ORIGINS: '*' }))).toEqual([
      'CORS_ORIGINS takes exact origins (https://app.example.com), not "*"',
    ]);
    expect(problems(() => development({ CORS_ORIGINS: `${APP}/app` }))).toEqual([
      `CORS_ORIGINS must list origins such as https://app.example.com (scheme, host and port only), got "${APP}/app"`,
    ]);
    expect(problems(() => development({ CORS_ORIGINS: 'app.example.com' }))).toHaveLength(1);
    expect(problems(() => development({ CORS_ORIGINS: 'ftp://app.example.com' }))).toHaveLength(1);
    expect(problems(() => development({ CORS_CREDENTIALS: 'yes' }))).toEqual([
      'CORS_CREDENTIALS must be true or false, got "yes"',
    ]);
  });
});

describe('PERSISTED_DOCUMENTS and ROUTER_SECRET', () => {
  it('is off in development and allow in production; no router credential unless set', () => {
    expect(development().persistedDocuments).toEqual({ mode: 'off', file: null, routerSecret: null });
    expect(production().persistedDocuments.mode).toBe('allow');
    const secret = 'r'.repeat(32);
    expect(production({ PERSISTED_DOCUMENTS: 'require', ROUTER_SECRET: secret }).persistedDocuments).toEqual({
      mode: 'require',
      file: null,
      routerSecret: secret,
    });
  });

  it('refuses a short router secret and an unknown mode', () => {
    expect(problems(() => production({ ROUTER_SECRET: 'short' }))).toEqual([
      'ROUTER_SECRET must be at least 32 characters',
    ]);
    expect(problems(() => development({ PERSISTED_DOCUMENTS: 'strict' }))).toEqual([
      'PERSISTED_DOCUMENTS must be one of off, allow, require, got "strict"',
    ]);
  });
});
