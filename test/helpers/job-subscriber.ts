import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws subscriber to uploadJobChanged, as Apollo Sandbox or a frontend would be. */
export interface JobSubscriber {
  statuses: string[];
  /** Resolves when a change with this status has arrived. */
  waitFor(status: string): Promise<void>;
  close(): Promise<void>;
}

export function subscribeToJob(graphqlUrl: string, id: string): JobSubscriber {
  const client = createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
  });
  const statuses: string[] = [];
  const waiters: Array<{ status: string; resolve: () => void; reject: (e: unknown) => void }> = [];
  const settle = () => {
    for (const w of [...waiters]) if (statuses.includes(w.status)) w.resolve();
  };
  client.subscribe<{ uploadJobChanged: { status: string } }>(
    {
      query: 'subscription ($id: ID!) { uploadJobChanged(id: $id) { id status succeeded } }',
      variables: { id },
    },
    {
      next: (result) => {
        if (result.data) statuses.push(result.data.uploadJobChanged.status);
        settle();
      },
      error: (error) => waiters.forEach((w) => w.reject(error)),
      complete: () => undefined,
    },
  );
  return {
    statuses,
    waitFor: (status) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ status, resolve, reject });
        settle();
      }),
    close: () => client.dispose() as Promise<void>,
  };
}
