// The GraphiQL explorer Fleetgraph serves from its own build (bundled by ../explorer-bundle.ts): rendered
// into #graphiql by the explorer page, talking to the page's own URL over HTTP and graphql-ws.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import type { Fetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/style.css';

// Monaco (GraphiQL 5's editor) runs its language services in web workers. They are bundled as entry
// points of their own (workers/*.js beside this file), so they are resolved against import.meta.url.
const workerUrl = (name: 'editor' | 'json' | 'graphql'): URL =>
  new URL(`./workers/${name}.worker.js`, import.meta.url);
(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_id: string, label: string): Worker {
    return new Worker(workerUrl(label === 'json' || label === 'graphql' ? label : 'editor'));
  },
};

const root = document.getElementById('graphiql');
if (!root) throw new Error('the explorer page has no #graphiql element');
// The page is served at the GraphQL URL itself; data-endpoint says so explicitly.
const url = new URL(root.dataset.endpoint ?? window.location.pathname, window.location.href);
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

// HTTP requests carry the headers editor's headers; a WebSocket cannot, so graphql-ws gets the
// Authorization header as the `authorization` connection parameter Fleetgraph reads. One fetcher (and
// so one WebSocket) per distinct Authorization value, for as long as the page is open.
const fetchers = new Map<string, Fetcher>();
const fetcher: Fetcher = (params, options) => {
  const headers: Record<string, unknown> = options?.headers ?? {};
  const authorization = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  const key = typeof authorization === 'string' ? authorization : '';
  let forCaller = fetchers.get(key);
  if (!forCaller) {
    forCaller = createGraphiQLFetcher({
      url: url.href,
      subscriptionUrl: subscriptionUrl.href,
      ...(key ? { wsConnectionParams: { authorization: key } } : {}),
    });
    fetchers.set(key, forCaller);
  }
  return forCaller(params, options);
};

createRoot(root).render(createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: false }));
