import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws subscriber to uploadJobChanged, as Apollo Sandbox or a frontend would be. */
export interface JobSubscriber {
  statuses: string[];
  /** Resolves when a change with this status has arrived. */
  waitFor(status: string): Promise<void>;
  /** Resolves when the server ends the subscription: `complete`, or the error it ended with. */
  ended: Promise<SubscriptionEnd>;
  close(): Promise<void>;
}

export type SubscriptionEnd = { kind: 'complete' } | { kind: 'error'; codes: string[]; messages: string[] };

const JOB_SUBSCRIPTION = 'subscription ($id: ID!) { uploadJobChanged(id: $id) { id status succeeded } }';

function connect(graphqlUrl: string, token?: string): Client {
  return createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    // A dropped socket is what some tests do on purpose; the subscriptions' sinks hear about it.
    onNonLazyError: () => undefined,
    ...(token ? { connectionParams: { authorization: `Bearer ${token}` } } : {}),
  });
}

/** One subscription on `client`; `statuses` fills as changes arrive, `ended` settles when the server ends it. */
export interface JobWatch {
  statuses: string[];
  ended: Promise<SubscriptionEnd>;
  /** The client sends `complete` (what a frontend does when a component unmounts). */
  unsubscribe(): void;
}

function watchJob(client: Client, id: string, onChange: () => void = () => undefined): JobWatch {
  const statuses: string[] = [];
  let end: (value: SubscriptionEnd) => void = () => undefined;
  const ended = new Promise<SubscriptionEnd>((resolve) => (end = resolve));
  const unsubscribe = client.subscribe<{ uploadJobChanged: { status: string } }>(
    { query: JOB_SUBSCRIPTION, variables: { id } },
    {
      next: (result) => {
        if (result.data) statuses.push(result.data.uploadJobChanged.status);
        onChange();
        // Errors before the first change arrive as a result with errors, then `complete`.
        if (result.errors?.length) end(errorEnd([...result.errors]));
      },
      error: (error) => end(errorEnd(Array.isArray(error) ? error : [error])),
      complete: () => end({ kind: 'complete' }),
    },
  );
  return { statuses, ended, unsubscribe };
}

function errorEnd(errors: unknown[]): SubscriptionEnd {
  const list = errors as Array<{ message?: string; extensions?: { code?: unknown } }>;
  return {
    kind: 'error',
    codes: list.map((e) => String(e.extensions?.code ?? 'NONE')),
    messages: list.map((e) => String(e.message ?? e)),
  };
}

export function subscribeToJob(graphqlUrl: string, id: string, token?: string): JobSubscriber {
  const client = connect(graphqlUrl, token);
  const waiters: Array<{ status: string; resolve: () => void; reject: (e: unknown) => void }> = [];
  const settle = () => {
    for (const w of [...waiters]) if (watch.statuses.includes(w.status)) w.resolve();
  };
  const watch = watchJob(client, id, settle);
  // An error ends every wait.
  void watch.ended.then((end) => {
    if (end.kind === 'error') waiters.forEach((w) => w.reject(new Error(end.messages.join('; '))));
  });
  return {
    statuses: watch.statuses,
    ended: watch.ended,
    waitFor: (status) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ status, resolve, reject });
        settle();
      }),
    close: () => client.dispose() as Promise<void>,
  };
}

/**
 * Many subscriptions over one WebSocket, as a dashboard watching many jobs would open them:
 * `watch` adds one, `disconnect` drops the socket without ending any of them first.
 */
export interface SubscriptionConnection {
  watch(id: string): JobWatch;
  /** The socket closes at once (a tab closed, a network gone): the server must end every subscription on it. */
  disconnect(): void;
  dispose(): Promise<void>;
}

export function openSubscriptionConnection(graphqlUrl: string, token?: string): SubscriptionConnection {
  const client = connect(graphqlUrl, token);
  return {
    watch: (id) => watchJob(client, id),
    disconnect: () => client.terminate(),
    dispose: () => client.dispose() as Promise<void>,
  };
}
