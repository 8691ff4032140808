import type { Client as WsClient } from 'graphql-ws';
import { createClient as createWsClient } from 'graphql-ws/client';
import {
  DeviceDetailDocument,
  FleetPageDocument,
  UploadJobChangedDocument,
  UploadJobDocument,
  UploadJobsDocument,
  UserWithDevicesDocument,
  type TypedDocumentString,
} from './generated/graphql.js';
import type * as Ops from './generated/graphql.js';
// The trusted-documents manifest, keyed "sha256:<hex>": its text is what the hash covers, so it is the text
// sent as `query` (APQ checks sha256(query) against the hash; the generated documents keep the source layout).
import persistedDocuments from './generated/persisted-documents.json' with { type: 'json' };

export type * from './generated/graphql.js';
export { TypedDocumentString } from './generated/graphql.js';

/** A GraphQL error as the server sends it (no graphql-js runtime needed). */
export interface FleetgraphError {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: { code?: string; [key: string]: unknown };
}

/** Data and errors together: a field that failed is null in `data` and explained in `errors`. */
export interface FleetgraphResult<TData> {
  data: TData | null;
  errors: FleetgraphError[];
  extensions?: Record<string, unknown>;
  /** HTTP status (0 for WebSocket results). */
  status: number;
}

/** Thrown only when no GraphQL answer came at all (network failure, non-JSON body). */
export class FleetgraphTransportError extends Error {
  override name = 'FleetgraphTransportError';
  constructor(
    message: string,
    readonly status: number,
    readonly body?: string,
  ) {
    super(message);
  }
}

/**
 * - 'hash-first' (default): send only the hash (APQ); on PERSISTED_QUERY_NOT_FOUND retry with the document.
 * - 'document': always send document + hash (one round trip; works with PERSISTED_DOCUMENTS=require too).
 */
export type PersistedMode = 'hash-first' | 'document';

export interface FleetgraphClientOptions {
  /** http(s)://host:port/graphql; subscriptions use the same URL as ws(s)://. */
  url: string;
  /** Bearer token: the Authorization header, and connectionParams.authorization on the WebSocket. */
  token?: string | (() => string | Promise<string>);
  headers?: Record<string, string>;
  persisted?: PersistedMode;
  fetch?: typeof fetch;
  /** Defaults to globalThis.WebSocket, else the `ws` package (Node 20 has no global WebSocket). */
  webSocketImpl?: unknown;
}

interface DocMeta {
  /** bare sha256 hex, APQ's sha256Hash */
  hash: string;
  /** the manifest's normalised text of the document */
  document: string;
}

const manifest: Readonly<Record<string, string>> = persistedDocuments;

function metaOf(doc: TypedDocumentString<unknown, unknown>): DocMeta {
  const documentId = (doc.__meta__ as { hash?: unknown } | undefined)?.hash;
  const document = typeof documentId === 'string' ? manifest[documentId] : undefined;
  if (typeof documentId !== 'string' || document === undefined)
    throw new Error('document was generated without a persisted-documents hash');
  return { hash: documentId.replace(/^sha256:/, ''), document };
}

type Vars<V> = V extends Record<string, never> ? V | undefined : V;

export function createFleetgraphClient(options: FleetgraphClientOptions) {
  const doFetch = options.fetch ?? globalThis.fetch;
  const mode = options.persisted ?? 'hash-first';
  const token = async () => (typeof options.token === 'function' ? await options.token() : options.token);

  async function post(body: unknown): Promise<{ status: number; json: FleetgraphResult<unknown> }> {
    const t = await token();
    const response = await doFetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(t ? { authorization: `Bearer ${t}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify(body),
    }).catch((e: unknown) => {
      throw new FleetgraphTransportError(`request failed: ${e instanceof Error ? e.message : String(e)}`, 0);
    });
    const text = await response.text();
    let parsed: { data?: unknown; errors?: FleetgraphError[]; extensions?: Record<string, unknown> };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new FleetgraphTransportError(
        `HTTP ${response.status}: not a GraphQL response`,
        response.status,
        text,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || (!('data' in parsed) && !('errors' in parsed)))
      throw new FleetgraphTransportError(
        `HTTP ${response.status}: not a GraphQL response`,
        response.status,
        text,
      );
    return {
      status: response.status,
      json: {
        data: parsed.data ?? null,
        errors: parsed.errors ?? [],
        ...(parsed.extensions ? { extensions: parsed.extensions } : {}),
        status: response.status,
      },
    };
  }

  /** Runs any generated operation; never throws on GraphQL errors (4xx GraphQL answers included). */
  async function execute<TData, TVariables>(
    doc: TypedDocumentString<TData, TVariables>,
    ...[variables]: TVariables extends Record<string, never> ? [TVariables?] : [TVariables]
  ): Promise<FleetgraphResult<TData>> {
    const { hash, document } = metaOf(doc as TypedDocumentString<unknown, unknown>);
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    if (mode === 'hash-first') {
      const first = await post({ variables, extensions });
      const notFound = first.json.errors.some((e) => e.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND');
      if (!notFound) return first.json as FleetgraphResult<TData>;
    }
    return (await post({ query: document, variables, extensions })).json as FleetgraphResult<TData>;
  }

  let ws: Promise<WsClient> | undefined;
  const wsClient = (): Promise<WsClient> =>
    (ws ??= (async () => {
      const impl =
        options.webSocketImpl ??
        (globalThis as { WebSocket?: unknown }).WebSocket ??
        (await import('ws')).default;
      return createWsClient({
        url: options.url.replace(/^http/, 'ws'),
        webSocketImpl: impl,
        lazy: true,
        connectionParams: async () => {
          const t = await token();
          return t ? { authorization: `Bearer ${t}` } : {};
        },
      });
    })());

  /** Each change to the job until it settles; `break` out of the loop to unsubscribe. */
  async function* subscribeUploadJob(
    id: string,
  ): AsyncGenerator<FleetgraphResult<Ops.UploadJobChangedSubscription>, void, undefined> {
    const { hash, document } = metaOf(UploadJobChangedDocument as TypedDocumentString<unknown, unknown>);
    const client = await wsClient();
    const iterator = client.iterate<Ops.UploadJobChangedSubscription>({
      query: document,
      variables: { id },
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    });
    try {
      for await (const result of iterator) {
        yield {
          data: result.data ?? null,
          errors: (result.errors ?? []) as FleetgraphError[],
          status: 0,
        };
      }
    } finally {
      await iterator.return?.();
    }
  }

  return {
    execute,
    fleetPage: (v: Vars<Ops.FleetPageQueryVariables>) => execute(FleetPageDocument, v),
    deviceDetail: (v: Vars<Ops.DeviceDetailQueryVariables>) => execute(DeviceDetailDocument, v),
    userWithDevices: (v: Vars<Ops.UserWithDevicesQueryVariables>) => execute(UserWithDevicesDocument, v),
    uploadJob: (v: Vars<Ops.UploadJobQueryVariables>) => execute(UploadJobDocument, v),
    uploadJobs: (v: Vars<Ops.UploadJobsQueryVariables>) => execute(UploadJobsDocument, v),
    subscribeUploadJob,
    /** Closes the WebSocket, if one was opened. */
    async close(): Promise<void> {
      if (ws) await (await ws).dispose();
    },
  };
}

export type FleetgraphClient = ReturnType<typeof createFleetgraphClient>;
