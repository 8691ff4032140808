import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got from 'got';
import type { Got, Response } from 'got';
import { UpstreamError, codeForStatus, upstreamLabel } from './errors.js';
import type { UpstreamName } from './errors.js';

/**
 * The HTTP seam of every upstream client: one got instance per upstream (process-wide keep-alive
 * agents), a call that never throws got's own errors, and the one place that turns HTTP outcomes into
 * UpstreamError. Retries, breakers and concurrency limits belong here too (production hardening).
 */

export interface UpstreamHttpOptions {
  upstream: UpstreamName;
  baseUrl: string;
  /** Whole-request timeout in ms. */
  timeoutMs?: number;
  /** Counts every call, for metrics and the benchmark. */
  onCall?: (call: {
    upstream: UpstreamName;
    endpoint: string;
    status: number | null;
    durationMs: number;
  }) => void;
}

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Appended to the base URL. */
  path: string;
  json?: unknown;
  form?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class UpstreamHttp {
  readonly upstream: UpstreamName;
  private readonly got: Got;
  private readonly baseUrl: string;
  private readonly onCall: UpstreamHttpOptions['onCall'];

  constructor(options: UpstreamHttpOptions) {
    this.upstream = options.upstream;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.onCall = options.onCall;
    // process-wide: one keep-alive agent pair per upstream
    const agent = {
      http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
    };
    this.got = got.extend({
      agent,
      timeout: { request: options.timeoutMs ?? 10_000 },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      headers: { 'user-agent': 'fleetgraph/0.1', accept: 'application/json' },
    });
  }

  endpoint(request: Pick<UpstreamRequest, 'method' | 'path'>): string {
    return `${request.method} ${new URL(this.baseUrl + request.path).pathname}`;
  }

  /** Sends the request; network failures become UPSTREAM_UNAVAILABLE, HTTP statuses are returned. */
  async send(request: UpstreamRequest, url = this.baseUrl + request.path): Promise<UpstreamResponse> {
    const endpoint = `${request.method} ${new URL(url).pathname}`;
    const started = performance.now();
    let response: Response<string>;
    try {
      const form = request.form
        ? Object.fromEntries(
            Object.entries(request.form)
              .filter((e): e is [string, string | number] => e[1] !== undefined)
              .map(([k, v]) => [k, String(v)]),
          )
        : undefined;
      response = await this.got(url, {
        method: request.method,
        headers: request.headers,
        ...(request.json !== undefined ? { json: request.json } : {}),
        ...(form ? { form } : {}),
      });
    } catch (error) {
      this.onCall?.({
        upstream: this.upstream,
        endpoint,
        status: null,
        durationMs: performance.now() - started,
      });
      const reason =
        error instanceof Error ? ((error as { code?: string }).code ?? error.message) : String(error);
      throw new UpstreamError(
        'UPSTREAM_UNAVAILABLE',
        `${upstreamLabel(this.upstream)} is unreachable (${reason}) on ${endpoint}`,
        {
          upstream: this.upstream,
          endpoint,
          cause: error,
        },
      );
    }
    this.onCall?.({
      upstream: this.upstream,
      endpoint,
      status: response.statusCode,
      durationMs: performance.now() - started,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /** Parses a JSON body, turning a malformed one into UPSTREAM_ERROR. */
  parseJson<T>(response: UpstreamResponse, endpoint: string): T {
    try {
      return JSON.parse(response.body) as T;
    } catch (cause) {
      throw new UpstreamError(
        'UPSTREAM_ERROR',
        `${upstreamLabel(this.upstream)} answered malformed JSON on ${endpoint}`,
        {
          upstream: this.upstream,
          endpoint,
          status: response.status,
          cause,
        },
      );
    }
  }

  /** The error for a non-success HTTP status; `detail` is the upstream's own message when it gave one. */
  statusError(
    response: UpstreamResponse,
    endpoint: string,
    detail?: { code?: string; message?: string },
  ): UpstreamError {
    const retryAfter = Number(response.headers['retry-after']);
    const code = codeForStatus(response.status);
    const label = upstreamLabel(this.upstream);
    const what = detail?.message ? `: ${detail.code ? `${detail.code} ` : ''}${detail.message}` : '';
    return new UpstreamError(code, `${label} answered HTTP ${response.status} on ${endpoint}${what}`, {
      upstream: this.upstream,
      endpoint,
      status: response.status,
      ...(detail?.code ? { upstreamCode: detail.code } : {}),
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    });
  }
}
