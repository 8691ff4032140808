import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey } from 'jose';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import type { TestGraph } from '../../helpers/graph.js';
import { productionEnv } from '../../helpers/production-env.js';

/** Caller tokens signed by an identity provider's key (RS256), verified against its JWKS URL. */
let emulators: RunningEmulators;
let graph: TestGraph;
let jwks: Server;
let signingKey: CryptoKey;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  signingKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  emulators = await startTestEmulators({ fleet: { size: 10, seed: 'jwks' } });
  const env = productionEnv(emulators, {
    AUTH_JWKS_URL: jwksUrl,
    AUTH_JWT_ISSUER: 'https://idp.example',
    AUTH_JWT_AUDIENCE: 'fleetgraph',
    // A local JWKS over plain http: the documented override for test setups.
    AUTH_JWKS_ALLOW_HTTP: 'true',
  });
  delete env.AUTH_JWT_SECRET;
  graph = await startTestGraph({ sharedEmulators: emulators, env });
});
afterAll(async () => {
  await graph.stop();
  await emulators.stop();
  await new Promise<void>((resolve) => jwks.close(() => resolve()));
});

const sign = (key: CryptoKey, claims: { iss?: string; aud?: string } = {}) =>
  new SignJWT({ scope: 'devices:read' })
    .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
    .setIssuer(claims.iss ?? 'https://idp.example')
    .setAudience(claims.aud ?? 'fleetgraph')
    .setSubject('svc-reporting')
    .setExpirationTime('5m')
    .sign(key);

const QUERY = '{ users(first: 1) { totalCount } }';

describe('JWKS caller auth (AUTH_JWKS_URL)', () => {
  it('accepts a token signed by the published key', async () => {
    const { status, body } = await graph.post(
      QUERY,
      {},
      { authorization: `Bearer ${await sign(signingKey)}` },
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });

  it.each([
    ['another key', async () => sign((await generateKeyPair('RS256')).privateKey)],
    ['another issuer', () => sign(signingKey, { iss: 'https://evil.example' })],
    ['another audience', () => sign(signingKey, { aud: 'someone-else' })],
  ])('refuses a token from %s with 401', async (_what, token) => {
    const { status, body } = await graph.post(QUERY, {}, { authorization: `Bearer ${await token()}` });
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('JWKS caller auth in production (issue 13, item 6)', () => {
  /** The problems loadConfig reports for a production environment with these auth settings. */
  const problems = (auth: Record<string, string>): string[] => {
    const env: Record<string, string | undefined> = { ...productionEnv(emulators), ...auth };
    delete env.AUTH_JWT_SECRET;
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };
  const HTTPS = {
    AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
    AUTH_JWT_ISSUER: 'https://idp.example',
    AUTH_JWT_AUDIENCE: 'fleetgraph',
  };

  it('starts with an https JWKS, an issuer and an audience', () => {
    expect(problems(HTTPS)).toEqual([]);
  });

  it("refuses a JWKS without issuer or audience: another issuer's or application's tokens would pass", () => {
    expect(problems({ AUTH_JWKS_URL: HTTPS.AUTH_JWKS_URL })).toEqual([
      "AUTH_JWT_ISSUER is required with AUTH_JWKS_URL in production (the `iss` callers' tokens carry)",
      'AUTH_JWT_AUDIENCE is required with AUTH_JWKS_URL in production (the `aud` naming Fleetgraph)',
    ]);
  });

  it('refuses a JWKS over plain http unless AUTH_JWKS_ALLOW_HTTP=true', () => {
    const http = { ...HTTPS, AUTH_JWKS_URL: 'http://idp.example/.well-known/jwks.json' };
    expect(problems(http)).toEqual([
      'AUTH_JWKS_URL must be an https:// URL in production (AUTH_JWKS_ALLOW_HTTP=true allows http:// for test setups)',
    ]);
    expect(problems({ ...http, AUTH_JWKS_ALLOW_HTTP: 'true' })).toEqual([]);
  });

  it('leaves development and the shared-secret mode as they were', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks.json' })).not.toThrow();
    expect(() => loadConfig(productionEnv(emulators))).not.toThrow();
  });
});
