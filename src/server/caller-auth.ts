import { createLocalJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import type { AuthConfig, JwksSettings } from '../config/config.js';
import type { Principal } from '../domain/scopes.js';

/**
 * Caller authentication: a bearer JWT verified with jose, HS256 with a shared secret or any algorithm
 * a JWKS publishes. Scopes come OAuth-style, space-separated in the `scope` claim.
 *
 * A JWKS is a dependency like any upstream: its keys are cached, refreshed in the background when
 * they are older than `refreshMs`, and fetched at most once per `cooldownMs` on failures or unknown
 * `kid`s, so no caller (valid or forged) can make Fleetgraph fetch the JWKS per request.
 */
export class AuthenticationError extends Error {
  readonly code: string = 'UNAUTHENTICATED';
}

/**
 * The token may be good, but no key to check it is known: the JWKS has not answered (yet), or its
 * keys are older than `maxStaleMs`. The server answers 503 AUTH_UNAVAILABLE, never 401: the caller
 * did nothing wrong and should retry.
 */
export class AuthUnavailableError extends AuthenticationError {
  override readonly code = 'AUTH_UNAVAILABLE';
}

export interface CallerAuthHealth {
  /** NOT_USED: shared-secret mode, no JWKS. */
  status: 'UP' | 'DOWN' | 'NOT_USED';
  keys: number;
  /** When the JWKS last answered with usable keys. */
  lastRefreshAt: string | null;
  /** Why the last fetch failed; null after a good one. */
  error: string | null;
}

export interface CallerAuthenticator {
  /**
   * Null without an Authorization header; throws AuthenticationError for a bad one and
   * AuthUnavailableError when no key to check it is known.
   */
  authenticate(authorization: string | undefined): Promise<Principal | null>;
  /** The key source's state, for /readyz. Starts a background refresh when the keys are due. */
  health(): CallerAuthHealth;
}

export interface CallerAuthOptions {
  /** The clock, for tests that step time instead of waiting. */
  now?: () => number;
  fetch?: typeof fetch;
}

export function createCallerAuthenticator(
  config: AuthConfig,
  options: CallerAuthOptions = {},
): CallerAuthenticator {
  const { clockSkewSeconds } = config;
  const now = options.now ?? Date.now;
  const verifyOptions: JWTVerifyOptions = {
    // A token without an expiry would be valid forever.
    requiredClaims: ['exp'],
    clockTolerance: clockSkewSeconds,
    ...(config.jwtSecret ? { algorithms: ['HS256'] } : {}),
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : null;
  const jwks = secret ? null : new JwksKeyCache(config.jwksUrl!, config.jwks, options);

  const verify = async (token: string) => {
    const checks = { ...verifyOptions, currentDate: new Date(now()) };
    if (secret) return jwtVerify(token, secret, checks);
    const cache = jwks!;
    const keys = await cache.keys();
    try {
      return await jwtVerify(token, keys, checks);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // A key published since the last fetch (rotation): refetch, at most once per cooldown.
      const fresher = await cache.keysForUnknownKid();
      if (fresher) return jwtVerify(token, fresher, checks);
      // The JWKS is down: the key may be new, so the caller gets "retry", not "bad token".
      if (cache.health().status === 'DOWN')
        throw new AuthUnavailableError(
          'Caller authentication is unavailable: the token names a key the JWKS could not be asked about',
        );
      throw error;
    }
  };

  return {
    async authenticate(authorization) {
      if (!authorization) return null;
      const match = /^bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!match?.[1]) throw new AuthenticationError('Authorization must be "Bearer <JWT>"');
      try {
        const { payload } = await verify(match[1]);
        // jose checks iat's type, not its sense: a token "issued" in the future was minted wrongly or forged.
        if (payload.iat !== undefined && payload.iat > now() / 1000 + clockSkewSeconds)
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
    health() {
      return jwks ? jwks.health() : { status: 'NOT_USED', keys: 0, lastRefreshAt: null, error: null };
    },
  };
}

/**
 * Process-wide: the JWKS's keys, as of the last good fetch. One fetch at a time; a fetch starts when
 * the keys are older than refreshMs (in the background: callers keep using the current keys), when
 * a token names an unknown kid, or when no key is known, and never twice within cooldownMs of the
 * last attempt. A failed fetch keeps the known keys until they are maxStaleMs old.
 */
class JwksKeyCache {
  private keySet: JWTVerifyGetKey | null = null;
  private keyCount = 0;
  /** Time of the last good fetch (its keys' age), of the last attempt (cooldown). */
  private fetchedAt: number | null = null;
  private attemptedAt: number | null = null;
  private lastError: string | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly url: string,
    private readonly settings: JwksSettings,
    options: CallerAuthOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? globalThis.fetch;
    // The first fetch starts with the server, so the first caller rarely waits for it.
    void this.refresh();
  }

  /** The keys to verify with; waits only when none is known and a fetch may bring some. */
  async keys(): Promise<JWTVerifyGetKey> {
    this.dropIfStale();
    if (!this.keySet) {
      await (this.inFlight ?? (this.coolingDown() ? null : this.refresh()));
      this.dropIfStale();
    } else if (this.now() - this.fetchedAt! >= this.settings.refreshMs && !this.coolingDown()) {
      void this.refresh(); // stale-while-revalidate: this caller still uses the current keys
    }
    if (!this.keySet)
      throw new AuthUnavailableError(
        `Caller authentication is unavailable: no signing key is known (${this.lastError ?? 'JWKS not fetched yet'})`,
      );
    return this.keySet;
  }

  /** New keys when a fetch (running or allowed to start) brought some, else null. */
  async keysForUnknownKid(): Promise<JWTVerifyGetKey | null> {
    const before = this.keySet;
    if (this.inFlight) await this.inFlight;
    else if (this.coolingDown()) return null;
    else await this.refresh();
    return this.keySet !== before ? this.keySet : null;
  }

  health(): CallerAuthHealth {
    this.dropIfStale();
    if (this.keySet && this.now() - this.fetchedAt! >= this.settings.refreshMs && !this.coolingDown())
      void this.refresh();
    return {
      status: this.keySet && this.lastError === null ? 'UP' : 'DOWN',
      keys: this.keyCount,
      lastRefreshAt: this.fetchedAt === null ? null : new Date(this.fetchedAt).toISOString(),
      error: this.lastError,
    };
  }

  private coolingDown(): boolean {
    return this.attemptedAt !== null && this.now() - this.attemptedAt < this.settings.cooldownMs;
  }

  private dropIfStale(): void {
    if (this.keySet && this.now() - this.fetchedAt! >= this.settings.maxStaleMs) {
      this.keySet = null;
      this.keyCount = 0;
    }
  }

  private refresh(): Promise<void> {
    return (this.inFlight ??= (async () => {
      this.attemptedAt = this.now();
      try {
        const jwks = await this.download();
        this.keySet = createLocalJWKSet(jwks);
        this.keyCount = jwks.keys.length;
        this.fetchedAt = this.now();
        this.lastError = null;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
      } finally {
        this.attemptedAt = this.now();
        this.inFlight = null;
      }
    })());
  }

  private async download(): Promise<JSONWebKeySet> {
    const { timeoutMs } = this.settings;
    let response: Response;
    let body: unknown;
    // Bounds the whole exchange, body included: a JWKS that trickles its answer is as down as a silent one.
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      response = await this.fetch(this.url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal,
      });
      body = response.ok ? await response.json() : undefined;
    } catch (error) {
      if (signal.aborted) throw new Error(`JWKS did not answer within ${timeoutMs} ms`);
      // By name: fetch's errors come from Node's realm, where `instanceof` against ours can fail.
      if ((error as { name?: unknown } | null)?.name === 'SyntaxError')
        throw new Error('JWKS answered with a body that is not JSON');
      throw new Error(`JWKS unreachable (${error instanceof Error ? error.message : 'fetch failed'})`);
    }
    if (!response.ok) throw new Error(`JWKS answered HTTP ${response.status}`);
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error('JWKS answer has no "keys" array');
    // An empty set is treated as a broken answer, not as "revoke everything": the known keys stay.
    if (keys.length === 0) throw new Error('JWKS answer lists no keys');
    return { keys } as JSONWebKeySet;
  }
}
