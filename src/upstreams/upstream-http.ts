import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import got from 'got';
import type { Got, Response } from 'got';
import type { z } from 'zod';
import CircuitBreaker from 'opossum';
import { REQUEST_ID_HEADER } from '../observability/request-scope.js';
import { traceUpstreamCall } from '../observability/tracing.js';
import type { UpstreamCallTrace } from '../observability/tracing.js';
import { CircuitOpenError, UpstreamError, codeForStatus, upstreamLabel } from './errors.js';
import type { UpstreamName } from './errors.js';
import { readWire } from './wire-schema.js';

/**
 * The HTTP seam of every upstream client, and the one place that decides what an HTTP outcome means:
 * - one got instance and keep-alive agent pair per upstream (process-wide);
 * - a timeout per upstream; at most `maxConcurrency` calls in flight per upstream and at most
 *   `maxConcurrencyPerEndpoint` per endpoint, so one slow endpoint cannot take every slot of its API;
 *   the upstream-wide limit backs off (halves) on 429 and recovers by one slot per window of successes;
 * - one deadline per call covering the wait for slots, every attempt and the waits between them;
 * - the caller's AbortSignal cancels queued and in-flight work when the caller went away;
 * - a request budget per upstream (its documented quota) of which one caller may spend at most
 *   `callerShare`, and background work at most `backgroundShare`: over it, RATE_LIMITED for that caller;
 * - reads (`idempotent: true`) retried with exponential backoff and jitter on network errors, 5xx and
 *   429 (waiting `Retry-After` when it is short); writes are never retried;
 * - a circuit breaker (opossum) per upstream that fails fast while an upstream keeps failing;
 * - the request id of the GraphQL request forwarded as `x-request-id`;
 * - inside a traced request (observability/tracing.ts), a span per call, retries included, whose W3C
 *   `traceparent` every attempt sends.
 */

/** One caller may spend at most half of an upstream's budget, so another always finds the rest. */
export const DEFAULT_CALLER_SHARE = 0.5;
/** Background work (job polling) may spend at most this share: it never takes the last of the budget. */
export const DEFAULT_BACKGROUND_SHARE = 0.25;
/** The sliding window a requests-per-minute budget is counted over. */
const BUDGET_WINDOW_MS = 60_000;

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
  /** Calls in flight to one endpoint; 0 means half of `maxConcurrency` (rounded up). */
  maxConcurrencyPerEndpoint: number;
  /** Requests per minute this process may send (the upstream's documented quota); 0 means no budget. */
  requestsPerMinute: number;
  /** Largest share (0..1] of that budget one caller (JWT subject) may spend in any minute. */
  callerShare: number;
  /** Largest share (0..1] of that budget background work (job polling) may spend: it yields first. */
  backgroundShare: number;
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
  maxConcurrencyPerEndpoint: 0,
  requestsPerMinute: 0,
  callerShare: DEFAULT_CALLER_SHARE,
  backgroundShare: DEFAULT_BACKGROUND_SHARE,
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
  /** Who spends the budget (the JWT subject); unset for shared work nobody owns. */
  caller?: string;
  /** Background work is admitted last and never spends the whole budget. */
  priority?: 'interactive' | 'background';
  /** Aborted when the caller went away: queued attempts never start, the one in flight is cut off. */
  signal?: AbortSignal;
}

/** What a per-request view stamps on every call it sends. */
export interface CallScope {
  requestId?: string;
  caller?: string;
  priority?: 'interactive' | 'background';
  signal?: AbortSignal;
}

/** This caller spent its share of the upstream's budget: its own requests are refused, nobody else's. */
export class CallerBudgetError extends UpstreamError {
  constructor(message: string, upstream: UpstreamName, endpoint: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message, { upstream, endpoint, retryAfterSeconds });
    this.name = 'CallerBudgetError';
  }
}

/** The caller went away: nobody waits for this call, so it is not a failure of the upstream either. */
export class UpstreamCancelledError extends UpstreamError {
  constructor(upstream: UpstreamName, endpoint: string) {
    super(
      'UPSTREAM_UNAVAILABLE',
      `${upstreamLabel(upstream)} call cancelled: the caller went away (${endpoint})`,
      {
        upstream,
        endpoint,
      },
    );
    this.name = 'UpstreamCancelledError';
  }
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

/** A counting semaphore whose waiters can give up (deadline, caller gone) and whose limit can move. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
    this.wake();
  }

  /** Resolves with the slot, or rejects with `signal.reason` if it aborts first (the waiter is dropped). */
  async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const granted = () => {
        signal.removeEventListener('abort', abandon);
        resolve();
      };
      const abandon = () => {
        const at = this.waiting.indexOf(granted);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      this.waiting.push(granted);
      signal.addEventListener('abort', abandon, { once: true });
    });
  }

  release(): void {
    this.active -= 1;
    this.wake();
  }

  private wake(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      this.active += 1;
      this.waiting.shift()!();
    }
  }
}

type Admission = { admitted: true } | { admitted: false; retryAfterMs: number; overShare: boolean };

/**
 * process-wide, per upstream: the requests sent in the last minute, in total and per caller. A caller
 * at its share is refused (its own requests only); the whole budget spent, every caller waits for the
 * window to move. Per process: with N replicas, give each 1/N of the quota.
 */
export class RequestBudget {
  private readonly sent: number[] = [];
  private readonly byCaller = new Map<string, number[]>();

  constructor(
    readonly requestsPerMinute: number,
    private readonly callerShare: number,
    private readonly backgroundShare: number,
  ) {}

  admit(
    caller: string | undefined,
    priority: 'interactive' | 'background',
    now = performance.now(),
  ): Admission {
    const since = now - BUDGET_WINDOW_MS;
    prune(this.sent, since);
    const limit =
      priority === 'background'
        ? Math.max(1, Math.floor(this.requestsPerMinute * this.backgroundShare))
        : this.requestsPerMinute;
    let own: number[] | undefined;
    if (caller !== undefined) {
      own = this.byCaller.get(caller) ?? [];
      prune(own, since);
      if (own.length === 0) this.byCaller.delete(caller);
      const share = Math.max(1, Math.floor(this.requestsPerMinute * this.callerShare));
      if (own.length >= share)
        return {
          admitted: false,
          overShare: true,
          retryAfterMs: own[own.length - share]! + BUDGET_WINDOW_MS - now,
        };
    }
    if (this.sent.length >= limit)
      return {
        admitted: false,
        overShare: false,
        retryAfterMs: this.sent[this.sent.length - limit]! + BUDGET_WINDOW_MS - now,
      };
    this.sent.push(now);
    if (caller !== undefined && own) {
      own.push(now);
      this.byCaller.set(caller, own);
    }
    return { admitted: true };
  }
}

/** Drops the timestamps (ascending) older than `since`. */
function prune(times: number[], since: number): void {
  let old = 0;
  while (old < times.length && times[old]! <= since) old++;
  if (old > 0) times.splice(0, old);
}

export class UpstreamHttp {
  readonly upstream: UpstreamName;
  private readonly got: Got;
  private readonly baseUrl: string;
  private readonly options: ResilienceOptions;
  private readonly onCall: UpstreamHttpOptions['onCall'];
  private readonly breaker: CircuitBreaker<[() => Promise<UpstreamResponse>], UpstreamResponse>;
  /** Upstream-wide slots; their number adapts (halves on 429, grows back on success). */
  private readonly semaphore: Semaphore;
  private adaptiveLimit: number;
  private successesSinceGrowth = 0;
  private readonly endpointSemaphores = new Map<string, Semaphore>();
  private readonly endpointLimit: number;
  /** Null when the upstream has no budget configured. */
  readonly budget: RequestBudget | null;

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
    this.adaptiveLimit = this.options.maxConcurrency;
    this.endpointLimit = this.options.maxConcurrencyPerEndpoint || Math.ceil(this.options.maxConcurrency / 2);
    this.budget =
      this.options.requestsPerMinute > 0
        ? new RequestBudget(
            this.options.requestsPerMinute,
            this.options.callerShare,
            this.options.backgroundShare,
          )
        : null;
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
      // A call cut off because its caller left says nothing about the upstream's health.
      errorFilter: (error: unknown) => error instanceof UpstreamCancelledError,
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
  forRequest(requestId: string): UpstreamHttp;
  forRequest(scope: CallScope): UpstreamHttp;
  forRequest(scopeOrId: string | CallScope): UpstreamHttp {
    const scope = typeof scopeOrId === 'string' ? { requestId: scopeOrId } : scopeOrId;
    const view = Object.create(this) as UpstreamHttp;
    view.send = (request, url) =>
      this.send(
        {
          ...request,
          ...(scope.requestId
            ? { headers: { ...request.headers, [REQUEST_ID_HEADER]: scope.requestId } }
            : {}),
          ...(scope.caller !== undefined && request.caller === undefined ? { caller: scope.caller } : {}),
          ...(scope.priority && !request.priority ? { priority: scope.priority } : {}),
          ...(scope.signal && !request.signal ? { signal: scope.signal } : {}),
        },
        url,
      );
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
    const trace = traceUpstreamCall(this.upstream, endpoint, request, url);
    return trace
      ? this.sendAttempts({ ...request, headers: trace.headers }, url, endpoint, trace)
      : this.sendAttempts(request, url, endpoint, null);
  }

  private async sendAttempts(
    request: UpstreamRequest,
    url: string,
    endpoint: string,
    trace: UpstreamCallTrace | null,
  ): Promise<UpstreamResponse> {
    const attempts = request.idempotent ? 1 + this.options.retries : 1;
    const deadline = performance.now() + this.options.deadlineMs;
    // One signal for the whole call: the caller leaving, or our own deadline (slot waits included).
    const deadlineSignal = AbortSignal.timeout(this.options.deadlineMs);
    const signal = request.signal ? AbortSignal.any([request.signal, deadlineSignal]) : deadlineSignal;
    for (let attempt = 1; ; attempt++) {
      let response: UpstreamResponse | null = null;
      let failure: UpstreamError | null = null;
      try {
        response = await this.attempt(request, url, endpoint, attempt > 1, signal, deadline);
      } catch (error) {
        failure = error as UpstreamError;
      }
      let waitMs = attempt < attempts ? this.retryDelay(response, failure, attempt) : null;
      // A retry that could not finish before the deadline is not started.
      if (waitMs !== null && performance.now() + waitMs >= deadline - MIN_USEFUL_ATTEMPT_MS) waitMs = null;
      if (waitMs === null) {
        trace?.end({
          status: response?.status ?? null,
          retries: attempt - 1,
          ...(failure ? { error: failure } : {}),
        });
        if (failure) throw failure;
        return response!;
      }
      trace?.retrying(attempt, response?.status ?? null, waitMs);
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        const abandoned = this.abandoned(request, endpoint);
        trace?.end({ status: response?.status ?? null, retries: attempt - 1, error: abandoned });
        throw abandoned;
      }
    }
  }

  /** Why a call ended before an answer: its caller left, or its deadline passed while it waited. */
  private abandoned(request: UpstreamRequest, endpoint: string): UpstreamError {
    if (request.signal?.aborted) return new UpstreamCancelledError(this.upstream, endpoint);
    return new UpstreamError(
      'UPSTREAM_UNAVAILABLE',
      `${upstreamLabel(this.upstream)} did not answer ${endpoint} within the ${this.options.deadlineMs} ms deadline`,
      { upstream: this.upstream, endpoint },
    );
  }

  /** Waits for the endpoint's slot, then the upstream's, under the call's signal; returns the release. */
  private async slots(request: UpstreamRequest, endpoint: string, signal: AbortSignal): Promise<() => void> {
    let perEndpoint = this.endpointSemaphores.get(endpoint);
    if (!perEndpoint)
      this.endpointSemaphores.set(endpoint, (perEndpoint = new Semaphore(this.endpointLimit)));
    try {
      await perEndpoint.acquire(signal);
    } catch {
      throw this.abandoned(request, endpoint);
    }
    try {
      await this.semaphore.acquire(signal);
    } catch {
      perEndpoint.release();
      throw this.abandoned(request, endpoint);
    }
    return () => {
      this.semaphore.release();
      perEndpoint.release();
    };
  }

  /**
   * Spends one request of the budget for this caller, waiting for the window to move when the whole
   * budget is spent and that fits in the deadline. Over its own share, the caller is refused at once.
   */
  private async spend(request: UpstreamRequest, endpoint: string, signal: AbortSignal, deadline: number) {
    if (!this.budget) return;
    for (;;) {
      const admission = this.budget.admit(request.caller, request.priority ?? 'interactive');
      if (admission.admitted) return;
      const waitMs = Math.max(1, admission.retryAfterMs);
      if (admission.overShare || performance.now() + waitMs >= deadline - MIN_USEFUL_ATTEMPT_MS) {
        const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
        const whose = admission.overShare ? "this caller's share of" : 'the whole';
        const message = `${upstreamLabel(this.upstream)}: ${whose} budget of ${this.budget.requestsPerMinute} requests per minute is spent; retry after ${retryAfterSeconds} s (${endpoint})`;
        throw admission.overShare
          ? new CallerBudgetError(message, this.upstream, endpoint, retryAfterSeconds)
          : new UpstreamError('RATE_LIMITED', message, {
              upstream: this.upstream,
              endpoint,
              retryAfterSeconds,
            });
      }
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        throw this.abandoned(request, endpoint);
      }
    }
  }

  /** AIMD on the upstream-wide limit: halve on 429, add one slot after a limit's worth of successes. */
  private adapt(status: number | null): void {
    if (status === 429) {
      this.adaptiveLimit = Math.max(1, Math.floor(this.adaptiveLimit / 2));
      this.successesSinceGrowth = 0;
    } else if (status !== null && status < 500 && this.adaptiveLimit < this.options.maxConcurrency) {
      this.successesSinceGrowth += 1;
      if (this.successesSinceGrowth < this.adaptiveLimit) return;
      this.adaptiveLimit += 1;
      this.successesSinceGrowth = 0;
    } else return;
    this.semaphore.setLimit(this.adaptiveLimit);
  }

  /** Calls in flight allowed to the whole upstream right now (adaptive). */
  get concurrencyLimit(): number {
    return this.adaptiveLimit;
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
    signal: AbortSignal,
    deadline: number,
  ): Promise<UpstreamResponse> {
    const release = await this.slots(request, endpoint, signal);
    try {
      await this.spend(request, endpoint, signal, deadline);
    } catch (error) {
      release();
      throw error;
    }
    // The per-upstream timeout, or what is left of the call's deadline after the slot wait if less.
    const timeoutMs = Math.max(1, Math.min(this.options.timeoutMs, deadline - performance.now()));
    const started = performance.now();
    let status: number | null = null;
    const fire = () =>
      this.breaker.fire(async () => {
        const answer = await this.rawSend(request, url, endpoint, timeoutMs, signal);
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
      release();
      this.adapt(status);
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
    signal: AbortSignal,
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
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw this.abandoned(request, endpoint);
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
