import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { NO_FAULTS, mergeFaults } from './faults.js';
import type { FaultSettings } from './faults.js';
import type { SeededRandom } from './seeded-random.js';
import { varyShape } from './shape-variants.js';
import type { AlternativeSpelling, JsonSchema } from './shape-variants.js';

/**
 * The HTTP machinery the three emulators share: routing, body reading, per-endpoint request counters,
 * fault injection and the `/_emulator/*` control endpoints. Each emulator adds only its API's routes.
 */

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Values of `{name}` segments of the matched route. */
  params: Record<string, string>;
}

export interface EmulatorReply {
  status: number;
  /** Serialised as JSON unless `text` is set. */
  body?: unknown;
  /** A non-JSON body (e.g. a PEM certificate), sent with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * What an API route speaks, written with the API's wire schemas: the emulator's OpenAPI document is
 * built from these (openapi.ts), and the shape-variant faults read which fields are optional from the
 * 200 response schema.
 */
export interface RouteContract {
  operationId: string;
  summary?: string;
  /** Query parameters (an object schema). */
  query?: z.ZodType;
  /** The request body: JSON, or form fields (application/x-www-form-urlencoded). */
  body?: { json: z.ZodType } | { form: z.ZodType };
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Security requirement name from the document's schemes; null for an open route. */
  security: string | null;
  /** The API's alternative spellings of a 200 answer, for the `altSpellings` shape variant. */
  alternative?: AlternativeSpelling;
}

export interface ApiOperation {
  method: string;
  template: string;
  contract: RouteContract;
}

/** One answer an API route gave, as sent (after faults), for tests that check answers against a contract. */
export interface ObservedReply {
  method: string;
  /** The route template, e.g. `/emm/oapi/device/selectDeviceList`. */
  route: string;
  status: number;
  body: unknown;
}

export type RouteHandler = (request: EmulatorRequest) => EmulatorReply | Promise<EmulatorReply>;
/** Runs before every counted API route; a reply short-circuits the handler (auth, rate limits). */
export type Guard = (request: EmulatorRequest) => EmulatorReply | undefined;

export interface HttpEmulatorOptions {
  /** Used in logs and error texts, e.g. "kdms". */
  name: string;
  random: SeededRandom;
  faults?: Partial<FaultSettings>;
  /** The API's own error body for a status the machinery produces (404, 405, 413, 429, 500, 503). */
  errorBody(status: number, message: string): unknown;
}

interface Route {
  methods: Set<string>;
  template: string;
  pattern: RegExp | null;
  paramNames: string[];
  handler: RouteHandler;
  /** Control and discovery routes have none, and are neither counted nor faulted. */
  contract: RouteContract | null;
}

export interface ListenOptions {
  /**
   * Host names (besides IP literals and localhost) the emulator answers to, e.g. a compose service
   * name. Any other Host header is refused: it is how DNS rebinding reaches a local server from a
   * browser.
   */
  allowedHosts?: readonly string[];
}

/** Bodies above this are refused with 413: 10,000 IMEIs as JSON are about 200 kB. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

function compileTemplate(template: string): { pattern: RegExp | null; paramNames: string[] } {
  const paramNames: string[] = [];
  if (!template.includes('{')) return { pattern: null, paramNames };
  const source = template
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\{(\w+)\}/g, (_match, name: string) => {
      paramNames.push(name);
      return '([^/]+)';
    });
  return { pattern: new RegExp(`^${source}$`), paramNames };
}

export class HttpEmulator {
  readonly name: string;
  private readonly routes: Route[] = [];
  private readonly guards: Guard[] = [];
  private readonly observers = new Set<(reply: ObservedReply) => void>();
  private readonly counts = new Map<string, number>();
  /** The last x-request-id values API requests carried, newest last (for tracing tests). */
  private readonly requestIds: string[] = [];
  private readonly random: SeededRandom;
  private readonly errorBody: HttpEmulatorOptions['errorBody'];
  private currentFaults: FaultSettings;
  private server: Server | null = null;
  private baseUrl: string | null = null;
  /** Lower-case host names allowed in the Host header, beyond IP literals and localhost. */
  private allowedHosts = new Set<string>();

  constructor(options: HttpEmulatorOptions) {
    this.name = options.name;
    this.random = options.random;
    this.errorBody = options.errorBody;
    const { faults, problems } = mergeFaults({ ...NO_FAULTS }, options.faults ?? {});
    if (problems.length)
      throw new Error(`${options.name} emulator: bad fault settings: ${problems.join('; ')}`);
    this.currentFaults = faults;
    this.addControlRoutes();
  }

  /** An API route: counted, faulted, guarded and documented. `template` may hold `{name}` segments. */
  route(methods: string | string[], template: string, contract: RouteContract, handler: RouteHandler): void {
    this.addRoute(methods, template, handler, contract);
  }

  /** A route outside the API proper (control, discovery): never counted, faulted or guarded. */
  controlRoute(methods: string | string[], template: string, handler: RouteHandler): void {
    this.addRoute(methods, template, handler, null);
  }

  guard(guard: Guard): void {
    this.guards.push(guard);
  }

  /** Calls `observer` with every answer an API route sends; returns the function that stops it. */
  observe(observer: (reply: ObservedReply) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Every API route as `METHOD template`, for checking the OpenAPI document against what is served. */
  apiRoutes(): string[] {
    return this.apiOperations().map((o) => `${o.method} ${o.template}`);
  }

  apiOperations(): ApiOperation[] {
    return this.routes.flatMap((r) =>
      r.contract
        ? [...r.methods].map((method) => ({ method, template: r.template, contract: r.contract! }))
        : [],
    );
  }

  get faults(): Readonly<FaultSettings> {
    return this.currentFaults;
  }

  /** Merges `patch` into the current faults; throws with every problem when it is invalid. */
  setFaults(patch: Partial<FaultSettings>): void {
    const { faults, problems } = mergeFaults(this.currentFaults, patch);
    if (problems.length) throw new Error(problems.join('; '));
    this.currentFaults = faults;
  }

  clearFaults(): void {
    this.currentFaults = { ...NO_FAULTS, paths: [], shapeVariants: [] };
  }

  requestCounts(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  resetCounts(): void {
    this.counts.clear();
  }

  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.name} emulator is not listening`);
    return this.baseUrl;
  }

  async listen(port = 0, host = '127.0.0.1', options: ListenOptions = {}): Promise<string> {
    this.allowedHosts = new Set([host, ...(options.allowedHosts ?? [])].map(normalHostName));
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        // A handler bug must not take the emulator down; answer 500 like a real server would.
        if (!res.headersSent)
          this.send(res, { status: 500, body: this.errorBody(500, String(error)) }, false);
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.baseUrl = `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private addRoute(
    methods: string | string[],
    template: string,
    handler: RouteHandler,
    contract: RouteContract | null,
  ): void {
    const { pattern, paramNames } = compileTemplate(template);
    const list = Array.isArray(methods) ? methods : [methods];
    this.routes.push({
      methods: new Set(list.map((m) => m.toUpperCase())),
      template,
      pattern,
      paramNames,
      handler,
      contract,
    });
  }

  private addControlRoutes(): void {
    this.controlRoute('GET', '/_emulator/requests', () => ({ status: 200, body: this.requestCounts() }));
    this.controlRoute('POST', '/_emulator/reset', () => {
      this.resetCounts();
      return { status: 204 };
    });
    this.controlRoute('GET', '/_emulator/request-ids', () => ({
      status: 200,
      body: { requestIds: this.requestIds },
    }));
    this.controlRoute('GET', '/_emulator/faults', () => ({ status: 200, body: this.currentFaults }));
    this.controlRoute(['PUT', 'PATCH'], '/_emulator/faults', (request) => {
      let patch: unknown;
      try {
        patch = JSON.parse(request.body.toString('utf8') || '{}');
      } catch {
        return { status: 400, body: { problems: ['body must be JSON'] } };
      }
      const { faults, problems } = mergeFaults(this.currentFaults, patch);
      if (problems.length) return { status: 400, body: { problems } };
      this.currentFaults = faults;
      return { status: 200, body: faults };
    });
    this.controlRoute('DELETE', '/_emulator/faults', () => {
      this.clearFaults();
      return { status: 204 };
    });
  }

  private match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | 'method' | null {
    let pathMatched = false;
    for (const route of this.routes) {
      let params: Record<string, string> | null = null;
      if (route.pattern === null) {
        if (route.template === path) params = {};
      } else {
        const m = route.pattern.exec(path);
        if (m)
          params = Object.fromEntries(
            route.paramNames.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]),
          );
      }
      if (!params) continue;
      pathMatched = true;
      if (route.methods.has(method)) return { route, params };
    }
    return pathMatched ? 'method' : null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const body = await readBody(req);
    const found = this.match(method, path);
    const route = typeof found === 'object' && found ? found.route : null;
    const badHost = this.refusedHost(req.headers.host);
    if (badHost !== null) {
      this.send(
        res,
        {
          status: 403,
          body: this.errorBody(
            403,
            `Host "${badHost}" is not served here: use an IP address or localhost, or start the emulators with --allowed-host ${badHost}`,
          ),
        },
        false,
      );
      return;
    }
    if (route && route.contract === null) {
      const refusal = crossSiteRefusal(method, req.headers, body);
      if (refusal) {
        this.send(res, { status: refusal.status, body: { problems: [refusal.problem] } }, false);
        return;
      }
    }
    const api = route ? route.contract !== null : true;
    if (api) {
      this.count(`${method} ${route?.template ?? path}`);
      const requestId = req.headers['x-request-id'];
      if (typeof requestId === 'string') {
        this.requestIds.push(requestId);
        if (this.requestIds.length > 1000) this.requestIds.shift();
      }
    }
    if (body === null) {
      this.send(res, { status: 413, body: this.errorBody(413, 'Request body too large') }, false);
      return;
    }
    if (found === null) {
      this.send(res, { status: 404, body: this.errorBody(404, `No route for ${method} ${path}`) }, false);
      return;
    }
    if (found === 'method') {
      this.send(
        res,
        { status: 405, body: this.errorBody(405, `Method ${method} not allowed on ${path}`) },
        false,
      );
      return;
    }
    const request: EmulatorRequest = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      params: found.params,
    };
    const faulted = api && this.affects(path);
    if (faulted) {
      const injected = await this.injectFault();
      if (injected) {
        this.send(res, injected, false);
        return;
      }
    }
    let reply: EmulatorReply | undefined;
    if (api) for (const guard of this.guards) if ((reply = guard(request))) break;
    reply ??= await found.route.handler(request);
    if (faulted && found.route.contract) reply = this.varyShape(reply, found.route.contract);
    if (found.route.contract)
      for (const observer of this.observers)
        observer({
          method,
          route: found.route.template,
          status: reply.status,
          body: reply.body ?? reply.text,
        });
    await this.send(res, reply, faulted);
  }

  /**
   * The Host header's name when this emulator must not answer it, else null. IP literals and
   * localhost cannot be rebound to an attacker's page; no Host at all (HTTP/1.0) is never a browser.
   */
  private refusedHost(header: string | undefined): string | null {
    if (header === undefined) return null;
    const name = normalHostName(header.replace(/:\d*$/, ''));
    if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return null;
    return this.allowedHosts.has(name) ? null : name;
  }

  /** The shape-variant faults, on successful JSON answers only (errors keep their documented shape). */
  private varyShape(reply: EmulatorReply, contract: RouteContract): EmulatorReply {
    const kinds = this.currentFaults.shapeVariants;
    if (kinds.length === 0 || reply.status !== 200 || reply.body === undefined) return reply;
    const schema = contract.responses[200]?.schema;
    const varied = varyShape(
      reply.body,
      kinds,
      schema ? responseJsonSchema(schema) : undefined,
      contract.alternative,
      this.random,
    );
    return varied.kind === 'html'
      ? { status: 200, text: varied.text, contentType: 'text/html; charset=utf-8' }
      : { ...reply, body: varied.body };
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private affects(path: string): boolean {
    const { paths } = this.currentFaults;
    return paths.length === 0 || paths.some((prefix) => path.startsWith(prefix));
  }

  /** Latency first (a slow upstream is slow to fail too), then 429 bursts, then errors. */
  private async injectFault(): Promise<EmulatorReply | null> {
    const f = this.currentFaults;
    const wait = f.latencyMs + (f.jitterMs > 0 ? this.random.next() * f.jitterMs : 0);
    // Unref'd: a request held back by latency must not keep a stopping process alive.
    if (wait > 0) await delay(wait, undefined, { ref: false });
    if (f.rateLimitNext > 0) {
      f.rateLimitNext -= 1;
      return {
        status: 429,
        headers: { 'retry-after': String(f.retryAfterSeconds) },
        body: this.errorBody(429, 'Too Many Requests'),
      };
    }
    if (f.failNext > 0 || (f.errorRate > 0 && this.random.chance(f.errorRate))) {
      if (f.failNext > 0) f.failNext -= 1;
      return {
        status: f.errorStatus,
        body: this.errorBody(f.errorStatus, `Injected ${f.errorStatus} from the ${this.name} emulator`),
      };
    }
    return null;
  }

  private async send(res: ServerResponse, reply: EmulatorReply, faulted: boolean): Promise<void> {
    const headers: Record<string, string> = { ...reply.headers };
    let payload: string | undefined;
    if (reply.text !== undefined) {
      payload = reply.text;
      headers['content-type'] = reply.contentType ?? 'text/plain; charset=utf-8';
    } else if (reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers['content-type'] = reply.contentType ?? 'application/json; charset=utf-8';
      const f = this.currentFaults;
      if (
        faulted &&
        (f.malformedJsonNext > 0 || (f.malformedJsonRate > 0 && this.random.chance(f.malformedJsonRate)))
      ) {
        if (f.malformedJsonNext > 0) f.malformedJsonNext -= 1;
        payload = payload.slice(0, Math.floor(payload.length / 2));
      }
    }
    const bytes = payload === undefined ? undefined : Buffer.from(payload, 'utf8');
    if (bytes) headers['content-length'] = String(bytes.length);
    res.writeHead(reply.status, headers);
    const slowMs = faulted ? this.currentFaults.slowBodyMs : 0;
    if (!bytes || slowMs <= 0 || bytes.length < 2) {
      res.end(bytes);
      return;
    }
    res.flushHeaders();
    const pieces = Math.min(10, bytes.length);
    const step = Math.ceil(bytes.length / pieces);
    for (let offset = 0; offset < bytes.length; offset += step) {
      if (res.destroyed) return;
      res.write(bytes.subarray(offset, offset + step));
      await delay(slowMs / pieces, undefined, { ref: false });
    }
    res.end();
  }
}

/** Lower case, without IPv6 brackets or the trailing dot of a fully qualified name. */
function normalHostName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** Methods a control route may change state with. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a control request that changes state is refused, or null. A browser page on another site can
 * send "simple" requests (forms, text/plain, no-cors fetch) without a preflight; such requests carry
 * Sec-Fetch-Site or Origin (every current browser), and their bodies are never application/json; older
 * browsers still send a Referer. A request with none of these is a script (curl, tests) and may send any
 * body; a browser-marked one needs JSON or the `x-emulator-control` header.
 */
function crossSiteRefusal(
  method: string,
  headers: IncomingHttpHeaders,
  body: Buffer | null,
): { status: number; problem: string } | null {
  if (SAFE_METHODS.has(method)) return null;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return { status: 403, problem: `cross-site control requests are refused (Sec-Fetch-Site: ${site})` };
  const origin = headers.origin;
  if (origin !== undefined) {
    let originHost: string | null = null;
    try {
      originHost = origin === 'null' ? null : new URL(origin).host;
    } catch {
      // refused below
    }
    if (originHost === null || originHost !== headers.host)
      return { status: 403, problem: `cross-site control requests are refused (Origin: ${origin})` };
  }
  if (headers['x-emulator-control'] !== undefined) return null;
  // No browser marker at all (Sec-Fetch-*, Origin, Referer): a script such as `curl -d '{…}'`, whose
  // default content type is a form's. Only a request a browser page could have sent must prove itself.
  const browserMarked =
    Object.keys(headers).some((h) => h.startsWith('sec-fetch-')) || headers.referer !== undefined;
  if (!browserMarked && origin === undefined) return null;
  const type = String(headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  const json = type === 'application/json' || type.endsWith('+json');
  if (json || (type === '' && (body === null || body.length === 0))) return null;
  return {
    status: 415,
    problem: `control requests take application/json (or the x-emulator-control header), got ${type || 'a body without a content type'}`,
  };
}

const jsonSchemas = new WeakMap<z.ZodType, JsonSchema>();

/** The input side of a response schema as plain JSON Schema, once per schema. */
function responseJsonSchema(schema: z.ZodType): JsonSchema {
  let json = jsonSchemas.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    jsonSchemas.set(schema, json);
  }
  return json;
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? null : Buffer.concat(chunks);
}

// ---- helpers the API emulators share ----------------------------------------------------------------

export function parseJsonBody(request: EmulatorRequest): { ok: true; value: unknown } | { ok: false } {
  const text = request.body.toString('utf8');
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Form fields from an urlencoded body, falling back to the query string (some Knox callers send both). */
export function parseFormBody(request: EmulatorRequest): URLSearchParams {
  const fields = new URLSearchParams(request.query);
  const type = String(request.headers['content-type'] ?? '');
  if (request.body.length > 0 && (type === '' || type.includes('application/x-www-form-urlencoded'))) {
    for (const [key, value] of new URLSearchParams(request.body.toString('utf8'))) fields.set(key, value);
  }
  return fields;
}

/** The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 6750). */
export function bearerToken(request: EmulatorRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^bearer\s*(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
