import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { AuthConfig } from '../../../src/config/config.js';
import {
  AuthUnavailableError,
  AuthenticationError,
  createCallerAuthenticator,
} from '../../../src/server/caller-auth.js';
import type { CallerAuthenticator } from '../../../src/server/caller-auth.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';
import { startTestGraph } from '../../helpers/graph.js';
import { productionEnv } from '../../helpers/production-env.js';
import { eventually } from '../../helpers/wait.js';

/**
 * The JWKS as a dependency (issue 13, item 5): a real JWKS server that can fail, hang or rotate keys,
 * counted per request; the authenticator's clock is stepped, never waited for.
 */
type Mode = 'serve' | 'error' | 'hang';
interface IdpKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

let server: Server;
let jwksUrl: string;
let mode: Mode = 'serve';
let published: IdpKey[] = [];
let fetches = 0;
const hanging: ServerResponse[] = [];

async function idpKey(kid: string): Promise<IdpKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches += 1;
    if (mode === 'hang') return void hanging.push(res);
    if (mode === 'error') return void res.writeHead(500).end('upstream trouble');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
});

const SETTINGS = { refreshMs: 60_000, timeoutMs: 300, cooldownMs: 5_000, maxStaleMs: 3_600_000 };
let clock: number;
let auth: CallerAuthenticator;
let first: IdpKey;

beforeEach(async () => {
  mode = 'serve';
  fetches = 0;
  first = await idpKey('idp-1');
  published = [first];
  clock = Date.parse('2026-01-01T00:00:00Z');
});
afterEach(() => {
  for (const res of hanging.splice(0)) res.destroy();
});

/** Starts the authenticator (its first fetch starts at once) and lets that fetch finish. */
async function start(settings: Partial<typeof SETTINGS> = {}): Promise<CallerAuthenticator> {
  const config: AuthConfig = {
    jwtSecret: null,
    jwksUrl,
    issuer: 'https://idp.example',
    audience: 'fleetgraph',
    clockSkewSeconds: 60,
    jwks: { ...SETTINGS, ...settings },
  };
  auth = createCallerAuthenticator(config, { now: () => clock });
  await settled();
  return auth;
}

/** Waits until no JWKS fetch is in flight: the server has answered every request it counted. */
const settled = () =>
  eventually(
    () => fetches > 0 && (mode === 'hang' || auth.health().error !== null || auth.health().keys > 0),
    'the JWKS fetch to finish',
  );

const sign = (key: IdpKey) =>
  new SignJWT({ scope: 'devices:read' })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer('https://idp.example')
    .setAudience('fleetgraph')
    .setSubject('svc-reporting')
    .setIssuedAt(Math.floor(clock / 1000))
    .setExpirationTime(Math.floor(clock / 1000) + 3600)
    .sign(key.privateKey);

/** What each of `count` calls ended with: 'ok', or the error's code. */
async function outcomes(token: string, count: number): Promise<Record<string, number>> {
  const results = await Promise.all(
    Array.from({ length: count }, () =>
      auth.authenticate(`Bearer ${token}`).then(
        () => 'ok',
        (error: unknown) => (error instanceof AuthenticationError ? error.code : 'other'),
      ),
    ),
  );
  const tally: Record<string, number> = {};
  for (const r of results) tally[r] = (tally[r] ?? 0) + 1;
  return tally;
}

describe('JWKS outage (AUTH_JWKS_URL answering 500, hanging, recovering)', () => {
  it('answers AUTH_UNAVAILABLE, not "invalid token", while no key is known, with one fetch per cooldown', async () => {
    mode = 'error';
    await start();
    const token = await sign(first);
    expect(await outcomes(token, 103)).toEqual({ AUTH_UNAVAILABLE: 103 });
    expect(fetches).toBe(1); // the start-up fetch; the 103 callers were inside its cooldown
    expect(auth.health()).toEqual({
      status: 'DOWN',
      keys: 0,
      lastRefreshAt: null,
      error: 'JWKS answered HTTP 500',
    });
    await expect(auth.authenticate(`Bearer ${token}`)).rejects.toBeInstanceOf(AuthUnavailableError);

    // The cooldown over and the JWKS back: the next caller fetches once and is let in.
    clock += SETTINGS.cooldownMs;
    mode = 'serve';
    expect(await outcomes(token, 103)).toEqual({ ok: 103 });
    expect(fetches).toBe(2);
    expect(auth.health()).toMatchObject({ status: 'UP', keys: 1, error: null });
  });

  it('keeps using the known keys when a refresh fails, and refetches once per cooldown, not per request', async () => {
    await start();
    const token = await sign(first);
    expect(await outcomes(token, 3)).toEqual({ ok: 3 });
    expect(fetches).toBe(1);

    mode = 'error';
    clock += SETTINGS.refreshMs; // the keys are due for a refresh
    expect(await outcomes(token, 103)).toEqual({ ok: 103 });
    await eventually(() => auth.health().error !== null, 'the background refresh to fail');
    expect(fetches).toBe(2);
    expect(await outcomes(token, 103)).toEqual({ ok: 103 });
    expect(fetches).toBe(2);
    expect(auth.health()).toMatchObject({ status: 'DOWN', keys: 1, error: 'JWKS answered HTTP 500' });

    clock += SETTINGS.cooldownMs;
    expect(await outcomes(token, 103)).toEqual({ ok: 103 });
    await eventually(() => fetches === 3 && auth.health().error !== null, 'the second refresh');
    expect(fetches).toBe(3);
  });

  it('gives up on a hanging JWKS after its timeout, once, and then answers at once', async () => {
    mode = 'hang';
    await start();
    const token = await sign(first);
    // Callers that came during the start-up fetch waited for it (bounded by timeoutMs), no one refetched.
    expect(await outcomes(token, 103)).toEqual({ AUTH_UNAVAILABLE: 103 });
    expect(fetches).toBe(1);
    expect(auth.health()).toMatchObject({ status: 'DOWN', error: 'JWKS did not answer within 300 ms' });
    // Inside the cooldown nobody waits and nothing is fetched.
    expect(await outcomes(token, 103)).toEqual({ AUTH_UNAVAILABLE: 103 });
    expect(fetches).toBe(1);
  });

  it('drops known keys that are older than maxStaleMs while the JWKS stays down', async () => {
    await start({ maxStaleMs: 120_000 });
    const token = await sign(first);
    expect(await outcomes(token, 1)).toEqual({ ok: 1 });
    mode = 'error';
    clock += 120_000;
    expect(await outcomes(token, 3)).toEqual({ AUTH_UNAVAILABLE: 3 });
    expect(auth.health()).toMatchObject({ status: 'DOWN', keys: 0, error: 'JWKS answered HTTP 500' });
  });
});

describe('JWKS key rotation', () => {
  it('refuses a key removed from the JWKS once the keys are refreshed (refreshMs)', async () => {
    await start();
    const token = await sign(first);
    expect(await outcomes(token, 1)).toEqual({ ok: 1 });

    const second = await idpKey('idp-2');
    published = [second]; // idp-1 revoked
    clock += SETTINGS.refreshMs - 1;
    expect(await outcomes(token, 1)).toEqual({ ok: 1 }); // not due yet
    expect(fetches).toBe(1);
    clock += 1;
    const before = auth.health().lastRefreshAt;
    await outcomes(token, 1); // due: starts the background refresh
    await eventually(() => auth.health().lastRefreshAt !== before, 'the background refresh');
    expect(fetches).toBe(2);
    expect(await outcomes(token, 5)).toEqual({ UNAUTHENTICATED: 5 });
    expect(await outcomes(await sign(second), 5)).toEqual({ ok: 5 });
    expect(fetches).toBe(2);
  });

  it('accepts a newly published key at once, and unknown kids refetch at most once per cooldown', async () => {
    await start();
    clock += SETTINGS.cooldownMs;
    const second = await idpKey('idp-2');
    published = [first, second];
    expect(await outcomes(await sign(second), 10)).toEqual({ ok: 10 });
    expect(fetches).toBe(2);

    // Forged kids: one fetch, then refused without fetching.
    const forged = await Promise.all([1, 2, 3].map((n) => idpKey(`forged-${n}`)));
    for (const key of forged) expect(await outcomes(await sign(key), 30)).toEqual({ UNAUTHENTICATED: 30 });
    expect(fetches).toBe(2); // still inside the cooldown of the idp-2 fetch
    clock += SETTINGS.cooldownMs;
    expect(await outcomes(await sign(forged[0]!), 30)).toEqual({ UNAUTHENTICATED: 30 });
    expect(fetches).toBe(3);
  });

  it('answers AUTH_UNAVAILABLE for an unknown kid while the JWKS is down (it may be a new key)', async () => {
    await start();
    mode = 'error';
    clock += SETTINGS.cooldownMs;
    const second = await idpKey('idp-2');
    expect(await outcomes(await sign(second), 5)).toEqual({ AUTH_UNAVAILABLE: 5 });
    expect(fetches).toBe(2);
    expect(await outcomes(await sign(first), 5)).toEqual({ ok: 5 });
  });
});

describe('shared-secret mode', () => {
  it('reports the JWKS as not used', () => {
    const secretAuth = createCallerAuthenticator({
      jwtSecret: 'x'.repeat(32),
      jwksUrl: null,
      issuer: null,
      audience: null,
      clockSkewSeconds: 60,
      jwks: SETTINGS,
    });
    expect(secretAuth.health()).toEqual({ status: 'NOT_USED', keys: 0, lastRefreshAt: null, error: null });
  });
});

describe('the graph during a JWKS outage', () => {
  it('answers 503 AUTH_UNAVAILABLE (not 401) with one JWKS fetch for 103 requests, and /readyz shows it', async () => {
    mode = 'error';
    clock = Date.now(); // the graph uses the real clock
    const emulators = await startTestEmulators({ fleet: { size: 1, seed: 'jwks-outage' } });
    const env = productionEnv(emulators, {
      AUTH_JWKS_URL: jwksUrl,
      AUTH_JWKS_ALLOW_HTTP: 'true',
      AUTH_JWT_ISSUER: 'https://idp.example',
      AUTH_JWT_AUDIENCE: 'fleetgraph',
      AUTH_JWKS_COOLDOWN_MS: '3600000',
    });
    delete env.AUTH_JWT_SECRET;
    const graph = await startTestGraph({ sharedEmulators: emulators, env });
    try {
      const token = await sign(first);
      const answers = await Promise.all(
        Array.from({ length: 103 }, () =>
          graph.post('{ users(first: 1) { totalCount } }', {}, { authorization: `Bearer ${token}` }),
        ),
      );
      expect(answers.map((a) => `${a.status} ${String(a.body.errors?.[0]?.extensions?.code)}`)).toEqual(
        Array(103).fill('503 AUTH_UNAVAILABLE'),
      );
      expect(fetches).toBe(1);
      const ready = await fetch(graph.url.replace(/\/graphql$/, '/readyz'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ auth: { status: 'DOWN', keys: 0 } });
    } finally {
      await graph.stop();
      await emulators.stop();
    }
  });
});
