import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../../src/config/config.js';
import type { FleetgraphConfig } from '../../../src/config/config.js';
import { DEV_CREDENTIALS } from '../../../src/emulators/dev-credentials.js';
import type { EmulatorName, RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { startTracing } from '../../../src/observability/tracing.js';
import { emulatorUpstreams } from '../../../src/server/embedded-upstreams.js';
import { startFleetgraph } from '../../../src/server/start-fleetgraph.js';
import type { RunningFleetgraph } from '../../../src/server/start-fleetgraph.js';
import { startTestEmulators } from '../../helpers/emulator-targets.js';

/**
 * OpenTelemetry traces of one fleet page: the operation under the router's `traceparent`, loader batches
 * and upstream calls under it, and the trace passed on to the APIs, as they received it (a recording
 * proxy sits between the graph and each emulator).
 */

const FLEET_PAGE =
  'query FleetPage { devices(first: 20) { edges { node { id management { status } access { name } apps { name } } } } }';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const ROUTER_SPAN_ID = '00f067aa0ba902b7';
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;

interface Received {
  upstream: EmulatorName;
  method: string;
  path: string;
  traceparent: string | undefined;
}

/** A pass-through proxy that records what each upstream request carried. */
async function recordingProxy(
  upstream: EmulatorName,
  target: string,
  log: Received[],
): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const traceparent = req.headers.traceparent;
    log.push({
      upstream,
      method: req.method ?? '',
      path: req.url ?? '',
      traceparent: Array.isArray(traceparent) ? traceparent[0] : traceparent,
    });
    const forwarded = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An OTLP/HTTP collector that keeps the JSON bodies it is sent. */
async function collector(): Promise<{
  url: string;
  bodies: unknown[];
  paths: string[];
  close(): Promise<void>;
}> {
  const bodies: unknown[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(req.url ?? '');
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let emulators: RunningEmulators;
const proxies: Array<{ close(): Promise<void> }> = [];
const received: Received[] = [];
let proxiedUrls: RunningEmulators['urls'];

beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 40, seed: 'tracing' } });
  const urls: Partial<RunningEmulators['urls']> = {};
  for (const name of ['kdms', 'knoxManage', 'box'] as const) {
    const proxy = await recordingProxy(name, emulators.urls[name], received);
    proxies.push(proxy);
    urls[name] = proxy.url;
  }
  proxiedUrls = urls as RunningEmulators['urls'];
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await emulators.stop();
});

/** The test graph's settings (graph.ts), reaching the emulators through the proxies. */
function graphConfig(tracing: FleetgraphConfig['tracing']): FleetgraphConfig {
  const loaded = loadConfig({
    NODE_ENV: 'test',
    READ_CACHE_TTL_MS: '0',
    JOB_STORE_FILE: 'memory',
    FLEET_INDEX: 'off',
    // No background polling while a test counts what reached the APIs.
    JOB_POLL_INTERVAL_MS: '3600000',
  });
  return {
    ...loaded,
    port: 0,
    host: '127.0.0.1',
    upstreams: emulatorUpstreams({ ...emulators, urls: proxiedUrls }),
    tracing,
  };
}

async function postPage(
  url: string,
  headers: Record<string, string>,
): Promise<{ data?: unknown; errors?: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: FLEET_PAGE }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { data?: unknown; errors?: unknown };
}

/** Every string an exported span carries in its name, attributes and events. */
function recordedText(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(
    spans.map((s) => [s.name, s.attributes, s.events.map((e) => [e.name, e.attributes])]),
  );
}

describe('tracing on (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let graph: RunningFleetgraph;
  beforeAll(async () => {
    graph = await startFleetgraph({
      config: graphConfig({ otlpEndpoint: null, serviceName: 'fleetgraph-test' }),
      traceExporter: exporter,
    });
  });
  afterAll(() => graph.stop());
  beforeEach(() => {
    exporter.reset();
    received.length = 0;
  });

  it("traces one fleet page as a tree under the router's span, and passes the trace on to every API call", async () => {
    const body = await postPage(graph.url, { traceparent: `00-${TRACE_ID}-${ROUTER_SPAN_ID}-01` });
    expect(body.errors).toBeUndefined();

    const spans = exporter.getFinishedSpans();
    // Nothing else this graph did in the meantime was traced: every span is the page's.
    expect(spans.every((s) => s.spanContext().traceId === TRACE_ID)).toBe(true);

    const operations = spans.filter((s) => s.attributes['graphql.operation.name'] !== undefined);
    expect(operations).toHaveLength(1);
    const operation = operations[0]!;
    expect(operation).toMatchObject({
      name: 'graphql FleetPage',
      kind: 1, // SERVER
      parentSpanContext: { traceId: TRACE_ID, spanId: ROUTER_SPAN_ID, isRemote: true },
      attributes: {
        'graphql.operation.name': 'FleetPage',
        'graphql.operation.type': 'query',
        'http.response.status_code': 200,
      },
      status: { code: 0 },
    });
    expect(operation.resource.attributes['service.name']).toBe('fleetgraph-test');

    // Each span's parents lead up to the operation, whose own parent is the router's.
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const operationId = operation.spanContext().spanId;
    for (const span of spans) {
      if (span === operation) continue;
      let parent = span.parentSpanContext?.spanId;
      const path: string[] = [span.name];
      while (parent && parent !== operationId) {
        const up = byId.get(parent);
        expect(up).toBeDefined();
        path.push(up!.name);
        parent = up!.parentSpanContext?.spanId;
      }
      expect({ span: path, reachesOperation: parent === operationId }).toEqual({
        span: path,
        reachesOperation: true,
      });
    }

    const batches = spans.filter((s) => s.name.startsWith('loader '));
    expect(batches.map((s) => s.attributes['fleetgraph.loader'])).toEqual(
      expect.arrayContaining(['accessByCuid', 'appsByCuid']),
    );
    for (const batch of batches) {
      expect(batch.attributes['fleetgraph.loader.batch_size']).toBeGreaterThan(0);
      expect(batch.status.code).toBe(0);
    }

    const calls = spans.filter((s) => s.kind === 2); // CLIENT
    expect(new Set(calls.map((s) => s.attributes['fleetgraph.upstream']))).toEqual(
      new Set(['KDMS', 'KNOX_MANAGE', 'BOX']),
    );
    for (const call of calls) {
      expect(call.name).toBe(
        `${call.attributes['fleetgraph.upstream']} ${call.attributes['fleetgraph.upstream.endpoint']}`,
      );
      expect(call.attributes).toMatchObject({
        'http.request.method': expect.stringMatching(/^(GET|POST|PUT|DELETE)$/),
        'http.response.status_code': expect.any(Number),
        'fleetgraph.upstream.retries': 0,
      });
    }
    // The KDMS page is read by the listing itself; the Box reads by loader batches, under their batch.
    const parentName = (span: ReadableSpan) => byId.get(span.parentSpanContext!.spanId)?.name;
    expect(
      calls.some((c) => c.attributes['fleetgraph.upstream'] === 'KDMS' && parentName(c) === operation.name),
    ).toBe(true);
    expect(
      calls.some(
        (c) => c.attributes['fleetgraph.upstream'] === 'BOX' && parentName(c)?.startsWith('loader '),
      ),
    ).toBe(true);

    // What the APIs received: every request this page made carried the trace, each under its call's span.
    const callIds = new Set(calls.map((c) => c.spanContext().spanId));
    expect(received.length).toBeGreaterThanOrEqual(calls.length);
    const sentUnder = received.map((r) => {
      const [version, traceId, spanId, flags] = (r.traceparent ?? '').split('-');
      expect({ ...r, version, traceId, flags }).toEqual({
        ...r,
        version: '00',
        traceId: TRACE_ID,
        flags: '01',
      });
      expect(spanId).toMatch(HEX_SPAN_ID);
      expect(callIds.has(spanId!)).toBe(true);
      return spanId!;
    });
    expect(new Set(sentUnder)).toEqual(callIds);
    expect(new Set(received.map((r) => r.upstream))).toEqual(new Set(['kdms', 'knoxManage', 'box']));

    // No credential reaches a span.
    const text = recordedText(spans);
    for (const secret of [
      DEV_CREDENTIALS.kdms.clientSecret,
      DEV_CREDENTIALS.knoxManage.clientSecret,
      DEV_CREDENTIALS.box.apiKey,
    ])
      expect(text).not.toContain(secret);
    expect(text.toLowerCase()).not.toMatch(/bearer|authorization|password/);
  });

  it('without a traceparent, the operation starts a trace of its own, still passed on', async () => {
    await postPage(graph.url, {});
    const spans = exporter.getFinishedSpans();
    const operation = spans.find((s) => s.name === 'graphql FleetPage')!;
    expect(operation.parentSpanContext).toBeUndefined();
    const traceId = operation.spanContext().traceId;
    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.traceparent?.split('-')[1] === traceId)).toBe(true);
  });

  it("honours a router's not-sampled flag: no spans, the trace id still goes upstream", async () => {
    await postPage(graph.url, { traceparent: `00-${TRACE_ID}-${ROUTER_SPAN_ID}-00` });
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(received.length).toBeGreaterThan(0);
    expect(
      received.every((r) => r.traceparent?.startsWith(`00-${TRACE_ID}-`) && r.traceparent.endsWith('-00')),
    ).toBe(true);
  });

  it('records GraphQL errors by code, never by message', async () => {
    const response = await fetch(graph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query Broken($n: Int!) { devices(first: $n) { edges { node { id } } } }',
        variables: { n: 'hunter2-not-a-number' },
      }),
    });
    expect(response.status).toBe(400);
    const [operation] = exporter.getFinishedSpans();
    expect(operation).toMatchObject({
      name: 'graphql Broken',
      status: { code: 2, message: 'BAD_USER_INPUT' },
      attributes: { 'http.response.status_code': 400 },
    });
    expect(operation!.events.map((e) => e.attributes)).toEqual([{ 'graphql.error.code': 'BAD_USER_INPUT' }]);
    expect(recordedText(exporter.getFinishedSpans())).not.toContain('hunter2');
  });
});

describe('tracing by configuration', () => {
  it('is off without an endpoint: nothing is started, nothing goes upstream', async () => {
    expect(await startTracing({ otlpEndpoint: null, serviceName: 'fleetgraph' })).toBeNull();
    const graph = await startFleetgraph({
      config: graphConfig({ otlpEndpoint: null, serviceName: 'fleetgraph' }),
    });
    try {
      received.length = 0;
      await postPage(graph.url, { traceparent: `00-${TRACE_ID}-${ROUTER_SPAN_ID}-01` });
      expect(received.length).toBeGreaterThan(0);
      expect(received.filter((r) => r.traceparent !== undefined)).toEqual([]);
    } finally {
      await graph.stop();
    }
  });

  it('exports over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces', async () => {
    const otlp = await collector();
    try {
      const graph = await startFleetgraph({
        config: graphConfig({ otlpEndpoint: otlp.url, serviceName: 'fleetgraph-otlp' }),
      });
      await postPage(graph.url, { traceparent: `00-${TRACE_ID}-${ROUTER_SPAN_ID}-01` });
      // Stopping flushes the batch the exporter still holds.
      await graph.stop();
      expect(otlp.paths.every((p) => p === '/v1/traces')).toBe(true);
      const exported = otlp.bodies as Array<{
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ spans: Array<{ name: string; traceId: string; parentSpanId?: string }> }>;
        }>;
      }>;
      const resourceSpans = exported.flatMap((b) => b.resourceSpans);
      expect(resourceSpans[0]?.resource.attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'fleetgraph-otlp' },
      });
      const names = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      expect(names).toContainEqual(
        expect.objectContaining({
          name: 'graphql FleetPage',
          traceId: TRACE_ID,
          parentSpanId: ROUTER_SPAN_ID,
        }),
      );
      expect(names.filter((s) => s.name.startsWith('loader ')).length).toBeGreaterThan(0);
    } finally {
      await otlp.close();
    }
  });
});
