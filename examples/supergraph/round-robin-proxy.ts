import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * The load balancer a deployment puts in front of Fleetgraph's replicas, small enough to run locally:
 * round robin over the replicas for HTTP (the gateway's queries, Knox's callbacks) and WebSocket
 * upgrades (subscriptions). A replica that refuses the connection is skipped and the request goes to
 * the next, so stopping one replica loses no request. Each answer says which replica served it in
 * `x-fleetgraph-replica` (1-based).
 */
export interface RoundRobinProxy {
  url: string;
  setTargets(targets: string[]): void;
  /** Requests each target answered, by index. */
  served(): number[];
  stop(): Promise<void>;
}

export const REPLICA_HEADER = 'x-fleetgraph-replica';
/** Knox callbacks for 10,000 devices are a few MB; nothing Fleetgraph accepts is larger. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startRoundRobinProxy(port = 0, host = '127.0.0.1'): Promise<RoundRobinProxy> {
  let targets: URL[] = [];
  let counts: number[] = [];
  let next = 0;
  const pick = (): number => next++ % targets.length;

  const forward = (index: number, req: IncomingMessage, body: Buffer, res: ServerResponse, tried: number) => {
    const target = targets[index]!;
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host, 'content-length': String(body.length) },
      },
      (answer) => {
        counts[index] = (counts[index] ?? 0) + 1;
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, [REPLICA_HEADER]: String(index + 1) });
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      // Nothing was answered yet: another replica can take the request.
      if (!res.headersSent && tried + 1 < targets.length) return forward(pick(), req, body, res, tried + 1);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad_gateway', message: `no replica answered: ${error.message}` }));
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (body === null) res.writeHead(413).end();
      else if (targets.length === 0) res.writeHead(503).end('no replicas yet');
      else forward(pick(), req, body, res, 0);
    });
  });
  // Subscriptions: the upgrade request and everything after it go to one replica, byte for byte.
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    if (targets.length === 0) {
      socket.destroy();
      return;
    }
    const index = pick();
    const target = targets[index]!;
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actual}`,
    setTargets(urls) {
      targets = urls.map((u) => new URL(u));
      counts = urls.map(() => 0);
    },
    served: () => [...counts],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
