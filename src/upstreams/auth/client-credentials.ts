import type { Keyv } from 'keyv';
import { UpstreamError, upstreamLabel } from '../errors.js';
import type { UpstreamHttp, UpstreamResponse } from '../upstream-http.js';

/**
 * OAuth 2.0 client-credentials tokens for KDMS and Knox Manage. A token lives in keyv until shortly
 * before it expires (so replicas on one Redis share it); within a process only one refresh is in
 * flight at a time; a call refused with 401 is retried once with a fresh token.
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

interface TokenEndpointAnswer {
  access_token?: unknown;
  expires_in?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/** Refresh this long before expiry, or at half-life for short tokens. */
const REFRESH_MARGIN_MS = 60_000;

export class ClientCredentialsTokenProvider {
  private inFlight: Promise<string> | null = null;
  private readonly key: string;
  private fetched = 0;

  constructor(
    private readonly http: UpstreamHttp,
    private readonly credentials: ClientCredentials,
    private readonly store: Keyv,
  ) {
    this.key = `token:${http.upstream}:${credentials.clientId}:${credentials.scope ?? ''}`;
  }

  /** Token requests this process made (tests and metrics). */
  get tokenRequests(): number {
    return this.fetched;
  }

  async getToken(): Promise<string> {
    const stored = (await this.store.get(this.key)) as StoredToken | undefined;
    if (stored && stored.expiresAt > Date.now()) return stored.accessToken;
    return this.refresh();
  }

  /** Fetches a new token unless another caller already is; `stale` is dropped from the store first. */
  async refresh(stale?: string): Promise<string> {
    if (stale) {
      const stored = (await this.store.get(this.key)) as StoredToken | undefined;
      if (stored?.accessToken === stale) await this.store.delete(this.key);
      else if (stored && stored.expiresAt > Date.now()) return stored.accessToken;
    }
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Runs `send` with a token; on HTTP 401 fetches a fresh token and runs it once more. */
  async authorized(send: (accessToken: string) => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
    const token = await this.getToken();
    const first = await send(token);
    if (first.status !== 401) return first;
    return send(await this.refresh(token));
  }

  private async fetchToken(): Promise<string> {
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
      let answer: TokenEndpointAnswer = {};
      try {
        answer = JSON.parse(response.body) as TokenEndpointAnswer;
      } catch {
        // a non-JSON error page: the status says enough
      }
      const error = this.http.statusError(response, endpoint, {
        code: typeof answer.error === 'string' ? answer.error : undefined,
      });
      if (response.status === 401 || response.status === 400) {
        throw new UpstreamError(
          'UPSTREAM_AUTH_FAILED',
          `${label} refused Fleetgraph's client credentials (${String(answer.error ?? response.status)})`,
          {
            upstream: this.http.upstream,
            endpoint,
            status: response.status,
            ...(typeof answer.error === 'string' ? { upstreamCode: answer.error } : {}),
          },
        );
      }
      throw error;
    }
    const answer = this.http.parseJson<TokenEndpointAnswer>(response, endpoint);
    if (typeof answer.access_token !== 'string' || typeof answer.expires_in !== 'number') {
      throw new UpstreamError(
        'UPSTREAM_ERROR',
        `${label} token endpoint answered without access_token/expires_in`,
        { upstream: this.http.upstream, endpoint, status: 200 },
      );
    }
    const lifetimeMs = answer.expires_in * 1000;
    const usableMs = Math.max(1000, lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2));
    const token: StoredToken = { accessToken: answer.access_token, expiresAt: Date.now() + usableMs };
    await this.store.set(this.key, token, usableMs);
    return token.accessToken;
  }
}
