import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { REQUEST_ID_HEADER } from './request-scope.js';

/**
 * OpenTelemetry traces: a span per GraphQL operation, per loader batch and per upstream call, under the
 * caller's W3C `traceparent` (a router's), which every upstream call passes on. Off unless an OTLP
 * endpoint (or, in tests, an exporter) is given; off, the SDK is never loaded and no span object is
 * made, so the default costs a storage lookup per upstream call and loader batch.
 *
 * No OpenTelemetry global is touched (tracer provider, propagator, context manager): each server
 * starts its own provider, because several servers share one jest process and a second `register()`
 * would silently take the first one's spans.
 *
 * The parent of a span travels in a private AsyncLocalStorage that `middleware` enters for each
 * /graphql request, and each loader batch re-enters with its own span. Passing it explicitly (like request
 * ids, request-scope.ts) cannot reach every upstream call: token refreshes and whole-list reads go
 * through process-wide clients that know no request, and they are upstream calls of the request too.
 * The storage is entered only while tracing is on, so with tracing off Node's promise hooks stay off;
 * with it on, every promise pays them, as under any OpenTelemetry Node setup.
 */

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT): spans go to `<endpoint>/v1/traces`. */
  otlpEndpoint: string | null;
  /** Spans also (or only) go here, each as soon as it ends: for tests. */
  exporter?: SpanExporter;
}

/** What work started here belongs to: a request's operation, and the span new spans go under. */
interface TraceScope {
  readonly tracing: Tracing;
  readonly operation: OperationTrace;
  /** The operation's span, or the loader batch's. */
  readonly context: Context;
}

/** One /graphql request's span: started by the middleware, named by the plugin. */
interface OperationTrace {
  readonly span: Span;
  /** Idempotent: the plugin ends it with the response, the middleware when Apollo never answered. */
  end(outcome: { httpStatus: number | undefined; errorCodes: readonly string[] }): void;
}

/** One upstream call's span, from its first attempt to its last. */
export interface UpstreamCallTrace {
  /** The request's headers plus this call's `traceparent` (and `tracestate`), sent on every attempt. */
  readonly headers: Record<string, string>;
  /** An attempt failed and another follows after `waitMs`. */
  retrying(attempt: number, status: number | null, waitMs: number): void;
  /** The call's outcome: the final status (null: no answer), or what it threw. */
  end(outcome: { status: number | null; retries: number; error?: unknown }): void;
}

export interface UpstreamCallInfo {
  upstream: string;
  /** `<METHOD> <path>`, as metrics label it (no query string). */
  endpoint: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
}

export interface Tracing {
  readonly tracer: Tracer;
  /**
   * Express middleware for /graphql: starts the request's operation span under the caller's
   * `traceparent`/`tracestate` and runs the rest of the request inside it.
   */
  readonly middleware: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  /** Starts an upstream call's span in `scope`. */
  startUpstreamCall(scope: TraceScope, call: UpstreamCallInfo): UpstreamCallTrace;
  /** Runs one loader batch inside its own span: the upstream calls it makes become its children. */
  batch<V>(
    scope: TraceScope,
    loader: string,
    size: number,
    run: () => Promise<ArrayLike<V | Error>>,
  ): Promise<ArrayLike<V | Error>>;
  /** Exports what is still buffered and stops the exporters. */
  shutdown(): Promise<void>;
}

const scopes = new AsyncLocalStorage<TraceScope>();

/**
 * Starts a span for an upstream call made here, or returns null outside a traced request (and with
 * tracing off, without allocating anything).
 */
export function traceUpstreamCall(
  upstream: string,
  endpoint: string,
  request: { method: string; headers?: Record<string, string> | undefined },
  url: string,
): UpstreamCallTrace | null {
  const scope = scopes.getStore();
  if (!scope) return null;
  return scope.tracing.startUpstreamCall(scope, {
    upstream,
    endpoint,
    method: request.method,
    url,
    ...(request.headers ? { headers: request.headers } : {}),
  });
}

/** Runs a loader batch in its own span inside a traced request; elsewhere just runs it. */
export function traceBatch<V>(
  loader: string,
  size: number,
  run: () => Promise<ArrayLike<V | Error>>,
): Promise<ArrayLike<V | Error>> {
  const scope = scopes.getStore();
  return scope ? scope.tracing.batch(scope, loader, size, run) : run();
}

/** Operation names come from callers: grammar-checked once resolved, but of any length. */
const MAX_NAME_LENGTH = 64;

/**
 * Names the request's operation span `graphql <operation>` once Apollo resolved it, and ends it with
 * the response, as an error when the caller got errors. Only error codes and paths are recorded, never
 * messages (graphql-js quotes a variable's value in its coercion errors: a password, say), and never
 * the document, whose literals may hold the same.
 */
export function tracingPlugin<C extends BaseContext = BaseContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      const operation = scopes.getStore()?.operation;
      if (!operation) return;
      return {
        async didResolveOperation({ operationName, operation: definition }) {
          const name = operationName ? operationName.slice(0, MAX_NAME_LENGTH) : 'anonymous';
          operation.span.updateName(`graphql ${name}`);
          operation.span.setAttributes({
            ...(operationName ? { 'graphql.operation.name': name } : {}),
            ...(definition ? { 'graphql.operation.type': definition.operation } : {}),
          });
        },
        async willSendResponse({ errors, response }) {
          const body = response.body.kind === 'single' ? response.body.singleResult : null;
          const sent: ReadonlyArray<{
            path?: ReadonlyArray<string | number>;
            extensions?: Record<string, unknown>;
          }> = body?.errors ?? errors ?? [];
          const errorCodes = sent.map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          sent.forEach((error, i) =>
            operation.span.addEvent('graphql.error', {
              'graphql.error.code': errorCodes[i]!,
              ...(error.path ? { 'graphql.error.path': error.path.join('.') } : {}),
            }),
          );
          // Apollo sets a status only when it is not 200.
          operation.end({ httpStatus: response.http.status ?? 200, errorCodes });
        },
      };
    },
  };
}

/** OTLP/HTTP sends traces to `<base>/v1/traces`; an endpoint that already names that path is kept. */
function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v1/traces')) url.pathname = `${path}/v1/traces`;
  return url.toString();
}

/** Why something failed, without its message (an upstream's error text may quote what it was sent). */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Starts tracing for one server, or returns null when it is off (no endpoint, no exporter): then the
 * SDK is not loaded (it is imported here, not at the top) and the server adds neither middleware nor plugin.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | null> {
  if (!options.otlpEndpoint && !options.exporter) return null;
  const [api, core, sdk, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
  ]);
  const spanProcessors: SpanProcessor[] = [];
  if (options.exporter) spanProcessors.push(new sdk.SimpleSpanProcessor(options.exporter));
  if (options.otlpEndpoint) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors.push(
      new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint) })),
    );
  }
  // Not register()ed (see the module comment). The sampler is the SDK's: parent-based, always on unless
  // OTEL_TRACES_SAMPLER says otherwise, so a router's "not sampled" is honoured.
  const provider = new sdk.NodeTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors,
  });
  const tracer = provider.getTracer('fleetgraph');
  const propagator = new core.W3CTraceContextPropagator();
  const { SpanKind, SpanStatusCode, ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter } = api;
  const { setSpan } = api.trace;

  const startOperation = (req: IncomingMessage, res: ServerResponse): TraceScope => {
    const remote = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const requestId = res.getHeader(REQUEST_ID_HEADER);
    const span = tracer.startSpan(
      'graphql.operation',
      {
        kind: SpanKind.SERVER,
        attributes: typeof requestId === 'string' ? { 'fleetgraph.request_id': requestId } : {},
      },
      remote,
    );
    let ended = false;
    const operation: OperationTrace = {
      span,
      end({ httpStatus, errorCodes }) {
        if (ended) return;
        ended = true;
        if (httpStatus) span.setAttribute('http.response.status_code', httpStatus);
        const codes = [...new Set(errorCodes)];
        if (codes.length) span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(' ') });
        else if (httpStatus && httpStatus >= 400)
          span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${httpStatus}` });
        span.end();
      },
    };
    return { tracing, operation, context: setSpan(remote, span) };
  };

  const tracing: Tracing = {
    tracer,

    middleware(req, res, next) {
      const scope = startOperation(req, res);
      // Requests Apollo never answers itself (a bad token, refused limits, a closed connection).
      res.once('close', () => scope.operation.end({ httpStatus: res.statusCode, errorCodes: [] }));
      scopes.run(scope, next);
    },

    startUpstreamCall(scope, call) {
      const server = new URL(call.url);
      const attributes: Attributes = {
        'fleetgraph.upstream': call.upstream,
        'fleetgraph.upstream.endpoint': call.endpoint,
        'http.request.method': call.method,
        'server.address': server.hostname,
        ...(server.port ? { 'server.port': Number(server.port) } : {}),
      };
      const span = tracer.startSpan(
        `${call.upstream} ${call.endpoint}`,
        { kind: SpanKind.CLIENT, attributes },
        scope.context,
      );
      const headers: Record<string, string> = { ...call.headers };
      propagator.inject(setSpan(scope.context, span), headers, defaultTextMapSetter);
      return {
        headers,
        retrying(attempt, status, waitMs) {
          span.addEvent('retry', {
            'fleetgraph.upstream.attempt': attempt,
            'fleetgraph.upstream.wait_ms': Math.round(waitMs),
            ...(status !== null ? { 'http.response.status_code': status } : {}),
          });
        },
        end({ status, retries, error }) {
          span.setAttribute('fleetgraph.upstream.retries', retries);
          if (status !== null) span.setAttribute('http.response.status_code', status);
          // 404 is how these APIs say "no such device": an answer to a lookup, not a failure.
          const failure =
            error !== undefined
              ? errorType(error)
              : status === null
                ? 'no answer'
                : status >= 400 && status !== 404
                  ? String(status)
                  : null;
          if (failure !== null) {
            span.setAttribute('error.type', failure);
            span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
          }
          span.end();
        },
      };
    },

    async batch(scope, loader, size, run) {
      const span = tracer.startSpan(
        `loader ${loader}`,
        { attributes: { 'fleetgraph.loader': loader, 'fleetgraph.loader.batch_size': size } },
        scope.context,
      );
      try {
        const results = await scopes.run({ ...scope, context: setSpan(scope.context, span) }, run);
        let failed = 0;
        let first: Error | undefined;
        for (let i = 0; i < results.length; i++) {
          const result = results[i];
          if (result instanceof Error) {
            failed += 1;
            first ??= result;
          }
        }
        if (first) {
          span.setAttribute('fleetgraph.loader.failed_keys', failed);
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorType(first) });
        }
        return results;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorType(error) });
        throw error;
      } finally {
        span.end();
      }
    },

    async shutdown() {
      await provider.shutdown();
    },
  };
  return tracing;
}
