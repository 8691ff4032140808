import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestGraph } from '../../helpers/graph.js';
import type { GraphQLBody, TestGraph } from '../../helpers/graph.js';
import { TEST_JWT_SECRET, tokenWith } from '../../helpers/production-env.js';

/** The manifest `npm run codegen` writes for @fleetgraph/client: "sha256:<hex>" → document. */
const MANIFEST = JSON.parse(
  readFileSync('packages/client/src/generated/persisted-documents.json', 'utf8'),
) as Record<string, string>;
const trusted = (operation: string): { hash: string; document: string } => {
  const entry = Object.entries(MANIFEST).find(([, document]) => document.includes(operation));
  if (!entry) throw new Error(`no trusted document has ${operation}`);
  return { hash: entry[0].replace(/^sha256:/, ''), document: entry[1] }; // APQ's sha256Hash is bare hex
};
const FLEET_PAGE = trusted('query FleetPage(');
const JOB_CHANGED = trusted('subscription UploadJobChanged(');
const AD_HOC = '{ devices(first: 2) { edges { node { id } } } }';
const ROUTER = '{ _service { sdl } }';
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

async function post(graph: TestGraph, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(graph.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as GraphQLBody };
}
const codes = (body: GraphQLBody) => (body.errors ?? []).map((e) => e.extensions?.code);

/**
 * One subscription over graphql-ws, until it ends: the codes of the errors its results carried (the resolver's)
 * followed by those it ended with (refused before execution).
 */
function subscribe(
  graph: TestGraph,
  payload: { query: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> },
  connectionParams: Record<string, string> = {},
) {
  const client = createClient({
    url: graph.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: true,
    connectionParams,
  });
  return new Promise<{ codes: unknown[] }>((resolve) => {
    const codes: unknown[] = [];
    client.subscribe(payload, {
      next: (result: FormattedExecutionResult<Record<string, unknown>, unknown>) =>
        codes.push(...(result.errors ?? []).map((e) => e.extensions?.code)),
      error: (errors) => {
        void client.dispose();
        const list = Array.isArray(errors) ? (errors as Array<{ extensions?: { code?: unknown } }>) : [];
        resolve({ codes: [...codes, ...list.map((e) => e.extensions?.code)] });
      },
      complete: () => {
        void client.dispose();
        resolve({ codes });
      },
    });
  });
}

describe('PERSISTED_DOCUMENTS=require', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startTestGraph({ env: { PERSISTED_DOCUMENTS: 'require' } });
  });
  afterAll(() => graph?.stop());

  it('refuses a document that is not in the manifest with PERSISTED_QUERY_NOT_IN_LIST, before any upstream call', async () => {
    graph.resetCalls();
    const { status, body } = await post(graph, { query: AD_HOC });
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect(body.data).toBeUndefined();
    expect(graph.upstreamCalls()).toEqual({ kdms: 0, knoxManage: 0, box: 0 });
  });

  it('refuses an unknown hash with PERSISTED_QUERY_NOT_IN_LIST (not NOT_FOUND, so APQ clients do not retry)', async () => {
    const { status, body } = await post(graph, { extensions: persisted('0'.repeat(64)) });
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it('serves a known document, sent in full or by its hash alone', async () => {
    const full = await post(graph, {
      query: FLEET_PAGE.document,
      variables: { first: 3 },
      extensions: persisted(FLEET_PAGE.hash),
    });
    expect(full.status).toBe(200);
    expect(full.body.errors).toBeUndefined();
    const hashOnly = await post(graph, { variables: { first: 3 }, extensions: persisted(FLEET_PAGE.hash) });
    expect(hashOnly.status).toBe(200);
    expect(hashOnly.body).toEqual(full.body);
    expect((hashOnly.body.data?.devices as { edges: unknown[] }).edges).toHaveLength(3);
    // GraphQL-over-HTTP's documentId, as the manifest writes it
    const byDocumentId = await post(graph, {
      documentId: `sha256:${FLEET_PAGE.hash}`,
      variables: { first: 3 },
    });
    expect(byDocumentId.body).toEqual(full.body);
  });

  it('serves a known document by GET with the hash alone', async () => {
    const url = new URL(graph.url);
    url.searchParams.set('variables', JSON.stringify({ first: 1 }));
    url.searchParams.set('extensions', JSON.stringify(persisted(FLEET_PAGE.hash)));
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    const body = (await response.json()) as GraphQLBody;
    expect(response.status).toBe(200);
    expect((body.data?.devices as { edges: unknown[] }).edges).toHaveLength(1);
  });

  it('refuses an ad-hoc document by GET, even behind 1,000 filler parameters', async () => {
    const url = new URL(graph.url);
    for (let i = 0; i < 1000; i++) url.searchParams.set(`a${i}`, '');
    url.searchParams.set('query', AD_HOC);
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    const body = (await response.json()) as GraphQLBody;
    expect(codes(body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect(body.data ?? null).toBeNull();
  });

  it("lets a federation router's _service and _entities documents through (caller auth off here)", async () => {
    const { status, body } = await post(graph, { query: ROUTER });
    expect(status).toBe(200);
    expect(body.data?._service).toBeTruthy();
    // …but not when a router field rides along with another one.
    const mixed = await post(graph, { query: '{ _service { sdl } devices(first: 1) { edges { cursor } } }' });
    expect(codes(mixed.body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it('refuses an ad-hoc subscription and serves the trusted one over graphql-ws', async () => {
    const adHoc = await subscribe(graph, { query: 'subscription { uploadJobChanged(id: "x") { id } }' });
    expect(adHoc.codes).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const known = await subscribe(graph, { query: JOB_CHANGED.document, variables: { id: 'no-such-job' } });
    // Past the trusted-documents check: the resolver itself answers the unknown job.
    expect(known.codes).not.toContain('PERSISTED_QUERY_NOT_IN_LIST');
    expect(known.codes).toEqual(['NOT_FOUND']);
    // By its hash alone: graphql-ws requires a `query` string, so an empty one stands for "none".
    const byHash = await subscribe(graph, {
      query: '',
      variables: { id: 'no-such-job' },
      extensions: persisted(JOB_CHANGED.hash),
    });
    expect(byHash.codes).toEqual(['NOT_FOUND']);
  });
});

describe('PERSISTED_DOCUMENTS=require with caller auth on', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startTestGraph({
      env: { PERSISTED_DOCUMENTS: 'require', AUTH_JWT_SECRET: TEST_JWT_SECRET },
    });
  });
  afterAll(() => graph?.stop());

  it('lets router documents through only with a valid token', async () => {
    const anonymous = await post(graph, { query: ROUTER });
    expect(codes(anonymous.body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const router = await post(graph, { query: ROUTER }, { authorization: `Bearer ${await tokenWith()}` });
    expect(router.status).toBe(200);
    expect(router.body.data?._service).toBeTruthy();
  });
});

describe('PERSISTED_DOCUMENTS=require with ROUTER_SECRET', () => {
  const ROUTER_SECRET = 'router-secret-0123456789abcdef0123456789';
  let graph: TestGraph;
  let reader: string;
  beforeAll(async () => {
    graph = await startTestGraph({
      env: { PERSISTED_DOCUMENTS: 'require', AUTH_JWT_SECRET: TEST_JWT_SECRET, ROUTER_SECRET },
    });
    reader = `Bearer ${await tokenWith('devices:read')}`;
  });
  afterAll(() => graph?.stop());

  it('takes only the router for the router: a caller with a token may not send _entities queries', async () => {
    const caller = await post(graph, { query: ROUTER }, { authorization: reader });
    expect(codes(caller.body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const wrong = await post(
      graph,
      { query: ROUTER },
      { authorization: reader, 'router-authorization': 'x' },
    );
    expect(codes(wrong.body)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const router = await post(
      graph,
      { query: ROUTER },
      { authorization: reader, 'router-authorization': ROUTER_SECRET },
    );
    expect(router.status).toBe(200);
    expect(router.body.data?._service).toBeTruthy();
  });

  it('runs the query plans a router writes, and still checks the caller’s scopes on them', async () => {
    const plan = await post(
      graph,
      { query: AD_HOC },
      { authorization: reader, 'router-authorization': ROUTER_SECRET },
    );
    expect(plan.status).toBe(200);
    expect((plan.body.data?.devices as { edges: unknown[] }).edges).toHaveLength(2);
    const unscoped = await post(
      graph,
      { query: AD_HOC },
      {
        authorization: `Bearer ${await tokenWith('users:authenticate')}`,
        'router-authorization': ROUTER_SECRET,
      },
    );
    expect(codes(unscoped.body)).toEqual(['FORBIDDEN']);
  });

  it('runs a subscription the router forwards over graphql-ws, and refuses it from anyone else', async () => {
    const adHoc = { query: 'subscription { uploadJobChanged(id: "no-such-job") { id } }' };
    const caller = await subscribe(graph, adHoc, { authorization: reader });
    expect(caller.codes).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const router = await subscribe(graph, adHoc, {
      authorization: reader,
      'router-authorization': ROUTER_SECRET,
    });
    expect(router.codes).toEqual(['NOT_FOUND']);
  });
});

describe('PERSISTED_DOCUMENTS=allow', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startTestGraph({ env: { PERSISTED_DOCUMENTS: 'allow' } });
  });
  afterAll(() => graph?.stop());

  it('runs ad-hoc documents and a known hash alone', async () => {
    expect((await post(graph, { query: AD_HOC })).status).toBe(200);
    const hashOnly = await post(graph, { variables: { first: 2 }, extensions: persisted(FLEET_PAGE.hash) });
    expect(hashOnly.status).toBe(200);
    expect((hashOnly.body.data?.devices as { edges: unknown[] }).edges).toHaveLength(2);
  });

  it('keeps automatic persisted queries working for documents outside the manifest', async () => {
    const hash = createHash('sha256').update(AD_HOC).digest('hex');
    const first = await post(graph, { extensions: persisted(hash) });
    expect(codes(first.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect((await post(graph, { query: AD_HOC, extensions: persisted(hash) })).status).toBe(200);
    const registered = await post(graph, { extensions: persisted(hash) });
    expect(registered.status).toBe(200);
    expect((registered.body.data?.devices as { edges: unknown[] }).edges).toHaveLength(2);
  });
});
