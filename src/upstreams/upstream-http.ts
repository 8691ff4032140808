import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import got from 'got';
import type { Got, Response } from 'got';
import type { z } from 'zod';
import CircuitBreaker from 'opossum';
import { REQUEST_ID_HEADER } from '../observability/request-scope.js';
import { CircuitOpenError, UpstreamError, codeForStatus, upstreamLabel } from './errors.js';
import type { UpstreamName } from './errors.js';
import { readWire } from './wire-schema.js';

/**
 * The HTTP seam of every upstream client, and the one place that decides what an HTTP outcome means:
 * - one got instance and keep-alive agent pair per upstream (process-wide);
 * - a timeout per upstream; at most `maxConcurrency` calls in flight per upstream;
 * - reads (`idempotent: true`) retried with exponential backoff and jitter on network errors, 5xx and
 *   429 (waiting `Retry-After` when it is short); writes are never retried;
 * - a circuit breaker (opossum) per upstream that fails fast while an upstream keeps failing;
 * - the request id of the GraphQL request forwarded as `x-request-id`.
 */

export interface ResilienceOptions {
  timeoutMs: number;
  /** One call, retries and waits included, ends by this deadline (below a federation router's 30 s). */
  deadlineMs: number;
  /** Extra attempts for reads. */
  retries: number;
  /** First backoff; doubles per attempt, plus up to the same again at random. */
  retryBaseDelayMs: number;
  /** A 429 whose Retry-After is longer than this is not waited for: it fails as RATE_LIMITED. */
  maxRetryAfterMs: number;
  maxConcurrency: number;
  breaker: {
    /** Percentage of failed calls in the rolling window that opens the breaker. */
    errorThresholdPercentage: number;
    /** Calls in the window before the breaker may open. */
    volumeThreshold: number;
    /** How long it stays open before letting a trial call through. */
    resetTimeoutMs: number;
    rollingWindowMs: number;
  };
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  timeoutMs: 10_000,
  deadlineMs: 20_000,
  retries: 2,
  retryBaseDelayMs: 100,
  maxRetryAfterMs: 2_000,
  maxConcurrency: 32,
  breaker: {
    errorThresholdPercentage: 50,
    volumeThreshold: 10,
    resetTimeoutMs: 10_000,
    rollingWindowMs: 10_000,
  },
};

export interface UpstreamCall {
  upstream: UpstreamName;
  requestId: string | undefined;
  endpoint: string;
  status: number | null;
  durationMs: number;
  retry: boolean;
}

export interface UpstreamHttpOptions {
  upstream: UpstreamName;
  baseUrl: string;
  resilience?: Partial<ResilienceOptions>;
  /** Every HTTP attempt, for metrics and logs. */
  onCall?: (call: UpstreamCall) => void;
  onBreakerChange?: (upstream: UpstreamName, state: 'open' | 'half-open' | 'closed') => void;
}

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Appended to the base URL. */
  path: string;
  json?: unknown;
  form?: Record<string, string | number | undefined>;
  /** Query parameters (repeated names allowed). */
  query?: URLSearchParams;
  headers?: Record<string, string>;
  /** Safe to send twice (reads, token requests). Only these are retried. */
  idempotent?: boolean;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A 5xx answer: a failure for the breaker, but still an answer the client maps. */
class FailedAnswer extends Error {
  constructor(readonly response: UpstreamResponse) {
    super(`HTTP ${response.status}`);
  }
}

/** Below this, what is left of a deadline is not worth another attempt. */
const MIN_USEFUL_ATTEMPT_MS = 250;

const isOpenBreaker = (error: unknown): boolean => (error as { code?: string }).code === 'EOPENBREAKER';

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}

export class UpstreamHttp {
  readonly upstream: UpstreamName;
  private readonly got: Got;
  private readonly baseUrl: string;
  private readonly options: ResilienceOptions;
  private readonly onCall: UpstreamHttpOptions['onCall'];
  private readonly breaker: CircuitBreaker<[() => Promise<UpstreamResponse>], UpstreamResponse>;
  private readonly semaphore: Semaphore;

  constructor(options: UpstreamHttpOptions) {
    this.upstream = options.upstream;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.onCall = options.onCall;
    this.options = {
      ...DEFAULT_RESILIENCE,
      ...options.resilience,
      breaker: { ...DEFAULT_RESILIENCE.breaker, ...options.resilience?.breaker },
    };
    this.semaphore = new Semaphore(this.options.maxConcurrency);
    // process-wide: one keep-alive agent pair per upstream
    const agent = {
      http: new HttpAgent({ keepAlive: true, maxSockets: this.options.maxConcurrency }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: this.options.maxConcurrency }),
    };
    this.got = got.extend({
      agent,
      timeout: { request: this.options.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      headers: { 'user-agent': 'fleetgraph/0.1', accept: 'application/json' },
    });
    const b = this.options.breaker;
    this.breaker = new CircuitBreaker((attempt: () => Promise<UpstreamResponse>) => attempt(), {
      timeout: false, // got enforces the timeout; the breaker only counts outcomes
      errorThresholdPercentage: b.errorThresholdPercentage,
      volumeThreshold: b.volumeThreshold,
      resetTimeout: b.resetTimeoutMs,
      rollingCountTimeout: b.rollingWindowMs,
      name: options.upstream,
    });
    this.breaker.on('open', () => options.onBreakerChange?.(this.upstream, 'open'));
    this.breaker.on('halfOpen', () => options.onBreakerChange?.(this.upstream, 'half-open'));
    this.breaker.on('close', () => options.onBreakerChange?.(this.upstream, 'closed'));
  }

  /**
   * The same upstream (agents, breaker, limits) seen from one request: every call carries its
   * request id. Clients built on the view forward it without knowing about requests.
   */
  forRequest(requestId: string): UpstreamHttp {
    const view = Object.create(this) as UpstreamHttp;
    view.send = (request, url) =>
      this.send({ ...request, headers: { ...request.headers, [REQUEST_ID_HEADER]: requestId } }, url);
    return view;
  }

  /** `open` while the upstream is failed fast, `half-open` while a trial call decides, else `closed`. */
  get breakerState(): 'open' | 'half-open' | 'closed' {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  endpoint(request: Pick<UpstreamRequest, 'method' | 'path'>): string {
    return `${request.method} ${new URL(this.baseUrl + request.path).pathname}`;
  }

  /** Sends the request; network failures become UPSTREAM_UNAVAILABLE, HTTP statuses are returned. */
  async send(request: UpstreamRequest, url = this.baseUrl + request.path): Promise<UpstreamResponse> {
    const endpoint = `${request.method} ${new URL(url).pathname}`;
    const attempts = request.idempotent ? 1 + this.options.retries : 1;
    const deadline = performance.now() + this.options.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      let response: UpstreamResponse | null = null;
      let failure: UpstreamError | null = null;
      // Each attempt gets the per-upstream timeout, or what is left of the call's deadline if less.
      const timeoutMs = Math.max(1, Math.min(this.options.timeoutMs, deadline - performance.now()));
      try {
        response = await this.attempt(request, url, endpoint, attempt > 1, timeoutMs);
      } catch (error) {
        failure = error as UpstreamError;
      }
      let waitMs = attempt < attempts ? this.retryDelay(response, failure, attempt) : null;
      // A retry that could not finish before the deadline is not started.
      if (waitMs !== null && performance.now() + waitMs >= deadline - MIN_USEFUL_ATTEMPT_MS) waitMs = null;
      if (waitMs === null) {
        if (failure) throw failure;
        return response!;
      }
      await sleep(waitMs);
    }
  }

  /** How long to wait before retrying, or null when this outcome is final. */
  private retryDelay(
    response: UpstreamResponse | null,
    failure: UpstreamError | null,
    attempt: number,
  ): number | null {
    const backoff = this.options.retryBaseDelayMs * 2 ** (attempt - 1);
    const jittered = backoff + Math.random() * backoff;
    if (failure)
      return failure.code === 'UPSTREAM_UNAVAILABLE' && !(failure instanceof CircuitOpenError)
        ? jittered
        : null;
    if (!response) return null;
    if (response.status === 429) {
      const retryAfterMs = Number(response.headers['retry-after']) * 1000;
      if (!Number.isFinite(retryAfterMs)) return jittered;
      return retryAfterMs <= this.options.maxRetryAfterMs ? retryAfterMs : null;
    }
    return response.status >= 500 ? jittered : null;
  }

  private async attempt(
    request: UpstreamRequest,
    url: string,
    endpoint: string,
    retry: boolean,
    timeoutMs: number,
  ): Promise<UpstreamResponse> {
    await this.semaphore.acquire();
    const started = performance.now();
    let status: number | null = null;
    const fire = () =>
      this.breaker.fire(async () => {
        const answer = await this.rawSend(request, url, endpoint, timeoutMs);
        status = answer.status;
        if (answer.status >= 500) throw new FailedAnswer(answer);
        return answer;
      });
    try {
      try {
        return await fire();
      } catch (error) {
        // Half-open admits one probe; the calls that arrive meanwhile wait for its verdict instead of
        // failing, and go ahead if it closed the breaker.
        if (!isOpenBreaker(error) || !(await this.probeClosedBreaker(timeoutMs))) throw error;
        return await fire();
      }
    } catch (error) {
      if (error instanceof FailedAnswer) return error.response;
      if (error instanceof UpstreamError) throw error;
      if (isOpenBreaker(error)) throw new CircuitOpenError(this.upstream, endpoint);
      throw error;
    } finally {
      this.semaphore.release();
      this.onCall?.({
        upstream: this.upstream,
        requestId: request.headers?.[REQUEST_ID_HEADER],
        endpoint,
        status,
        durationMs: performance.now() - started,
        retry,
      });
    }
  }

  /** True when a half-open breaker's probe closed it within `waitMs`; false at once if it is not half-open. */
  private async probeClosedBreaker(waitMs: number): Promise<boolean> {
    if (!this.breaker.halfOpen) return false;
    // The losers of the race are aborted, so no listener outlives the wait.
    const settled = new AbortController();
    const { signal } = settled;
    try {
      return await Promise.race([
        once(this.breaker, 'close', { signal }).then(
          () => true,
          () => false,
        ),
        once(this.breaker, 'open', { signal }).then(
          () => false,
          () => false,
        ),
        sleep(waitMs, false, { signal, ref: false }).catch(() => false),
      ]);
    } finally {
      settled.abort();
    }
  }

  private async rawSend(
    request: UpstreamRequest,
    url: string,
    endpoint: string,
    timeoutMs: number,
  ): Promise<UpstreamResponse> {
    const headers = request.headers;
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
        headers,
        ...(request.json !== undefined ? { json: request.json } : {}),
        ...(form ? { form } : {}),
        ...(request.query ? { searchParams: request.query } : {}),
        timeout: { request: timeoutMs },
      });
    } catch (error) {
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
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /**
   * The one way an upstream body becomes data: parsed as JSON, then read through the API's schema
   * (wire-schema.ts). A body that is not JSON (an HTML error page behind a 200, a cut-off answer) or
   * does not fit the schema becomes UPSTREAM_ERROR naming the upstream, the endpoint and the JSON path.
   */
  readJson<S extends z.ZodType>(response: UpstreamResponse, schema: S, endpoint: string): z.output<S> {
    const parsed = parseBody(response.body);
    if (!parsed.ok) {
      const type = String(response.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim();
      const what = type && !type.includes('json') ? `${type} instead of JSON` : 'malformed JSON';
      throw new UpstreamError(
        'UPSTREAM_ERROR',
        `${upstreamLabel(this.upstream)} answered ${what} on ${endpoint}`,
        { upstream: this.upstream, endpoint, status: response.status, cause: parsed.error },
      );
    }
    return readWire(schema, parsed.value, { upstream: this.upstream, endpoint, status: response.status });
  }

  /** The upstream's own error body, read through `schema`; undefined when it sent none we can read. */
  readErrorBody<S extends z.ZodType>(response: UpstreamResponse, schema: S): z.output<S> | undefined {
    const parsed = parseBody(response.body);
    if (!parsed.ok) return undefined;
    const read = schema.safeParse(parsed.value);
    return read.success ? read.data : undefined;
  }

  /** The error for a non-success HTTP status; `detail` is the upstream's own message when it gave one. */
  statusError(
    response: UpstreamResponse,
    endpoint: string,
    detail?: { code?: string | undefined; message?: string | undefined },
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

function parseBody(body: string): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    return { ok: false, error };
  }
}
