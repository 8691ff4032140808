import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError, Kind, parse } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { ConfigError } from '../config/config.js';
import type { PersistedDocumentsMode } from '../config/config.js';

/**
 * Trusted documents (PERSISTED_DOCUMENTS): the manifest `npm run codegen` writes for @fleetgraph/client maps
 * each operation's GraphQL-over-HTTP document id ("sha256:<hex>" of the normalised document) to the document.
 * A request names one by APQ's extensions.persistedQuery.sha256Hash (the bare hex) or by `documentId`.
 * - `off`: nothing here runs.
 * - `allow`: a request naming a known hash without a document runs the manifest's document; anything else
 *   goes on to Apollo as before (its automatic persisted queries included).
 * - `require`: only the manifest's documents run. The one exception is a federation router, which enforces its
 *   own trusted documents and writes query plans and `_entities`/`_service` queries no manifest can list:
 *   - with ROUTER_SECRET, a request carrying it as `Router-Authorization` (over graphql-ws, the connection
 *     param `router-authorization`) runs any document, and nothing else is taken for the router;
 *   - without it, a document whose every root field is `_entities` or `_service` runs when the caller is
 *     authenticated (or when caller auth is off, as in development). Any caller with a token can send those,
 *     which is why production behind a router should set ROUTER_SECRET.
 */

/** The code Apollo Router and GraphQL Yoga use for "not in the trusted list". Unlike PERSISTED_QUERY_NOT_FOUND it
 * does not make an APQ client retry with the full document, which would be refused again. */
export const PERSISTED_QUERY_NOT_IN_LIST = 'PERSISTED_QUERY_NOT_IN_LIST';

const ROUTER_FIELDS = new Set(['_entities', '_service', '__typename']);

export interface PersistedDocuments {
  readonly mode: PersistedDocumentsMode;
  /** hash (bare sha256 hex) → document */
  readonly byHash: ReadonlyMap<string, string>;
}

/** Where the manifest is without PERSISTED_DOCUMENTS_FILE: beside the compiled build, or in a checkout. */
const MANIFEST_CANDIDATES = [
  // dist/server/persisted-documents.js → dist/persisted-documents.json (`npm run build` copies it there)
  fileURLToPath(new URL('../persisted-documents.json', import.meta.url)),
  // src/server/ (or a dist/ inside the checkout) → the client package's generated manifest
  fileURLToPath(new URL('../../packages/client/src/generated/persisted-documents.json', import.meta.url)),
];

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The header (and graphql-ws connection param) a router proves itself with when ROUTER_SECRET is set. */
export const ROUTER_AUTHORIZATION = 'router-authorization';

/** True when `presented` is the router secret; compared in constant time over digests of equal length. */
export function isRouterSecret(routerSecret: string | null, presented: unknown): boolean {
  if (routerSecret === null || typeof presented !== 'string') return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(routerSecret), digest(presented));
}

/** Reads and checks the manifest once at start-up; a missing or wrong manifest refuses to start. */
export function loadPersistedDocuments(config: {
  mode: PersistedDocumentsMode;
  file: string | null;
}): PersistedDocuments {
  if (config.mode === 'off') return { mode: 'off', byHash: new Map() };
  const path = config.file ?? MANIFEST_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!path || !existsSync(path))
    throw new ConfigError([
      `PERSISTED_DOCUMENTS=${config.mode} needs the trusted-documents manifest: ${
        config.file
          ? `PERSISTED_DOCUMENTS_FILE ${config.file} does not exist`
          : '`npm run build` copies it to dist/'
      }`,
    ]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([
      `persisted documents manifest ${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError([`persisted documents manifest ${path} must be an object of hash → document`]);
  const byHash = new Map<string, string>();
  for (const [key, document] of Object.entries(raw)) {
    const hash = key.replace(/^sha256:/, '');
    if (typeof document !== 'string' || sha256(document) !== hash)
      throw new ConfigError([
        `persisted documents manifest ${path}: ${key} is not the sha256 of its document`,
      ]);
    byHash.set(hash, document);
  }
  return { mode: config.mode, byHash };
}

/** The hash a request names: APQ's extensions.persistedQuery.sha256Hash, or GraphQL-over-HTTP's documentId. */
function requestedHash(params: Record<string, unknown>): string | undefined {
  let extensions = params.extensions;
  if (typeof extensions === 'string') {
    try {
      extensions = JSON.parse(extensions); // GET ?extensions=
    } catch {
      extensions = undefined; // Apollo answers malformed extensions itself
    }
  }
  const persisted = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
  if (typeof persisted?.sha256Hash === 'string') return persisted.sha256Hash;
  if (typeof params.documentId === 'string') return params.documentId.replace(/^sha256:/, '');
  return undefined;
}

/** True for the queries a federation router writes: every root field is `_entities` or `_service`. */
export function isRouterDocument(source: string): boolean {
  let document;
  try {
    document = parse(source, { noLocation: true });
  } catch {
    return false;
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return (
    operations.length > 0 &&
    operations.every(
      (operation) =>
        operation.operation === 'query' &&
        operation.selectionSet.selections.every(
          (selection) => selection.kind === Kind.FIELD && ROUTER_FIELDS.has(selection.name.value),
        ),
    )
  );
}

const notInList = (message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: PERSISTED_QUERY_NOT_IN_LIST } });

const UNKNOWN_DOCUMENT =
  "This server runs trusted documents only (PERSISTED_DOCUMENTS=require): send one of @fleetgraph/client's operations.";

export interface PersistedDocumentsOptions {
  /** ROUTER_SECRET: when set, the only way a request counts as the router's. */
  routerSecret: string | null;
  /** Without ROUTER_SECRET: whether this caller may send router (`_entities`/`_service`) documents. */
  mayRoute: (authorization: string | undefined) => Promise<boolean>;
  onRefused?: (reason: { hash?: string; operationName?: string }) => void;
}

/** Express middleware: after express.json(), before the limits check and Apollo. */
export function persistedDocumentsMiddleware(pd: PersistedDocuments, options: PersistedDocumentsOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (pd.mode === 'off') return next();
    const params = (req.method === 'GET' ? req.query : req.body) as Record<string, unknown> | undefined;
    if (!params || typeof params !== 'object') return next();
    const hash = requestedHash(params);
    const query = typeof params.query === 'string' && params.query !== '' ? params.query : undefined;
    const refuse = (message: string): void => {
      options.onRefused?.({
        ...(hash ? { hash } : {}),
        ...(typeof params.operationName === 'string' ? { operationName: params.operationName } : {}),
      });
      res.status(400).json({ errors: [notInList(message).toJSON()] });
    };

    if (query === undefined && hash !== undefined) {
      const document = pd.byHash.get(hash);
      if (document !== undefined) {
        // Apollo gets the document; extensions.persistedQuery stays, and its hash check passes.
        if (req.method === 'GET') {
          // Express 5 re-parses req.query on each read and Apollo reads req.url: the URL is what to rewrite.
          const url = new URL(req.url, 'http://localhost');
          url.searchParams.set('query', document);
          url.searchParams.delete('documentId');
          req.url = url.pathname + url.search;
        } else {
          params.query = document;
          delete params.documentId;
        }
        return next();
      }
      if (pd.mode === 'require') return refuse(`No trusted document has the hash ${hash}.`);
      return next(); // allow: Apollo's APQ cache may know it (else PERSISTED_QUERY_NOT_FOUND, and the client retries)
    }
    if (query === undefined || pd.mode !== 'require' || pd.byHash.has(sha256(query))) return next();
    if (options.routerSecret !== null)
      return isRouterSecret(options.routerSecret, req.headers[ROUTER_AUTHORIZATION])
        ? next()
        : refuse(UNKNOWN_DOCUMENT);
    if (!isRouterDocument(query)) return refuse(UNKNOWN_DOCUMENT);
    options.mayRoute(req.headers.authorization).then(
      (allowed) => (allowed ? next() : refuse(UNKNOWN_DOCUMENT)),
      () => refuse(UNKNOWN_DOCUMENT),
    );
  };
}

/**
 * graphql-ws onSubscribe: the same rules over the WebSocket. A router forwards its clients' subscriptions
 * here, so a connection that proved itself with ROUTER_SECRET (`fromRouter`) runs any document.
 */
export function checkSubscribePayload(
  pd: PersistedDocuments,
  payload: SubscribePayload,
  fromRouter = false,
): GraphQLError[] | undefined {
  if (pd.mode === 'off') return undefined;
  const hash = requestedHash(payload as unknown as Record<string, unknown>);
  if (!payload.query && hash !== undefined) {
    const document = pd.byHash.get(hash);
    if (document !== undefined) {
      (payload as { query: string }).query = document; // graphql-ws executes the payload it handed us
      return undefined;
    }
    if (pd.mode === 'require') return [notInList(`No trusted document has the hash ${hash}.`)];
  }
  if (pd.mode === 'require' && !fromRouter && !(payload.query && pd.byHash.has(sha256(payload.query))))
    return [notInList(UNKNOWN_DOCUMENT)];
  return undefined;
}
