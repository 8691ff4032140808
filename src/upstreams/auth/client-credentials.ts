import type { Keyv } from 'keyv';
import { SharedStoreError } from '../../cache/errors.js';
import type { Locks } from '../../cache/locks.js';
import { UpstreamError, upstreamLabel } from '../errors.js';
import type { UpstreamHttp, UpstreamResponse } from '../upstream-http.js';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, OAuthErrorResponse, OAuthTokenResponse } from './oauth.wire.js';

/**
 * OAuth 2.0 client-credentials tokens for KDMS and Knox Manage. A token lives in the `tokens` store
 * until shortly before it expires, and in this process beside it. Replicas on one Redis fetch one
 * token between them: whoever finds no usable token takes a lock, looks again (another replica may
 * have just stored one), and only then asks the token endpoint; the others wait for the lock and find
 * the new token. Within a process one refresh is in flight at a time. A call refused with 401 is
 * retried once with a token other than the refused one. When the shared store is unreachable each
 * replica fetches its own token: calls keep working, only the sharing stops.
 */
export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to request (KDMS); omitted for Knox Manage. */
  scope?: string;
}

interface StoredToken {
  accessToken: string;
  expiresAt: number;
}

/** Refresh this long before expiry, or at half-life for short tokens. */
const REFRESH_MARGIN_MS = 60_000;
/** How long a replica waits for another one's token refresh; the lock itself is a renewed lease. */
const TOKEN_LOCK = { waitMs: 30_000 };

export interface TokenProviderOptions {
  /** Shared across replicas on Redis; in-process otherwise. */
  locks: Locks;
  /** Told when the shared store fails and this process falls back to a token of its own. */
  onStoreError?: (error: unknown) => void;
}

const usable = (token: StoredToken | undefined, refused?: string): token is StoredToken =>
  token !== undefined && token.expiresAt > Date.now() && token.accessToken !== refused;

export class ClientCredentialsTokenProvider {
  private inFlight: Promise<string> | null = null;
  private readonly key: string;
  private fetched = 0;
  /** This process's copy of the shared token: most calls need no store round-trip. */
  private current: StoredToken | undefined;

  constructor(
    private readonly http: UpstreamHttp,
    private readonly credentials: ClientCredentials,
    private readonly store: Keyv,
    private readonly options: TokenProviderOptions,
  ) {
    this.key = `token:${http.upstream}:${credentials.clientId}:${credentials.scope ?? ''}`;
  }

  /** Token requests this process made (tests and metrics). */
  get tokenRequests(): number {
    return this.fetched;
  }

  async getToken(): Promise<string> {
    if (usable(this.current)) return this.current.accessToken;
    return this.refresh();
  }

  /** A usable token other than `refused`: the shared one if there is one, else a new one. */
  refresh(refused?: string): Promise<string> {
    this.inFlight ??= this.obtain(refused).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async obtain(refused: string | undefined): Promise<string> {
    const shared = await this.readShared();
    if (usable(shared, refused)) return this.keep(shared);
    try {
      return await this.options.locks.withLock(
        this.key,
        async () => {
          // Whoever held the lock before us has probably just stored a token.
          const stored = await this.readShared();
          if (usable(stored, refused)) return this.keep(stored);
          const fresh = await this.fetchToken();
          await this.writeShared(fresh);
          return this.keep(fresh);
        },
        TOKEN_LOCK,
      );
    } catch (error) {
      if (!(error instanceof SharedStoreError)) throw error;
      this.options.onStoreError?.(error);
      return this.keep(await this.fetchToken());
    }
  }

  private keep(token: StoredToken): string {
    this.current = token;
    return token.accessToken;
  }

  private async readShared(): Promise<StoredToken | undefined> {
    try {
      return (await this.store.get(this.key)) as StoredToken | undefined;
    } catch (error) {
      this.options.onStoreError?.(error);
      return undefined;
    }
  }

  private async writeShared(token: StoredToken): Promise<void> {
    try {
      await this.store.set(this.key, token, Math.max(1, token.expiresAt - Date.now()));
    } catch (error) {
      this.options.onStoreError?.(error);
    }
  }

  /** Runs `send` with a token; on HTTP 401 fetches a fresh token and runs it once more. */
  async authorized(send: (accessToken: string) => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
    const token = await this.getToken();
    const first = await send(token);
    if (first.status !== 401) return first;
    return send(await this.refresh(token));
  }

  private async fetchToken(): Promise<StoredToken> {
    const { tokenUrl, clientId, clientSecret, scope } = this.credentials;
    // Asking for a token twice has no effect beyond a second token: safe to retry.
    const request = { method: 'POST' as const, path: new URL(tokenUrl).pathname, idempotent: true };
    const endpoint = `POST ${request.path}`;
    this.fetched += 1;
    const response = await this.http.send(
      {
        ...request,
        form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope },
      },
      tokenUrl,
    );
    const label = upstreamLabel(this.http.upstream);
    if (response.status !== 200) {
      // A non-JSON error page reads as undefined: the status says enough.
      const answer = this.http.readErrorBody(response, OAuthErrorResponse);
      const error = this.http.statusError(response, endpoint, { code: answer?.error ?? undefined });
      if (response.status === 401 || response.status === 400) {
        throw new UpstreamError(
          'UPSTREAM_AUTH_FAILED',
          `${label} refused Fleetgraph's client credentials (${answer?.error ?? response.status})`,
          {
            upstream: this.http.upstream,
            endpoint,
            status: response.status,
            ...(answer?.error ? { upstreamCode: answer.error } : {}),
          },
        );
      }
      throw error;
    }
    const answer = this.http.readJson(response, OAuthTokenResponse, endpoint);
    const lifetimeMs = (answer.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    const usableMs = Math.max(1000, lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2));
    return { accessToken: answer.access_token, expiresAt: Date.now() + usableMs };
  }
}
