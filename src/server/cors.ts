import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CorsConfig } from '../config/config.js';
import { REQUEST_ID_HEADER } from '../observability/request-scope.js';

/** Hosts a development machine's own pages are served from (any port, http or https). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a browser page of `origin` may call the graph: an exact listed origin, or loopback in development. */
export function corsAllows(config: CorsConfig, origin: string | undefined): boolean {
  if (!origin) return false;
  if (config.origins.includes(origin)) return true;
  if (!config.loopback) return false;
  try {
    const url = new URL(origin);
    return /^https?:$/.test(url.protocol) && LOOPBACK_HOSTS.has(url.hostname) && url.origin === origin;
  } catch {
    return false; // "null" (a file:// page, a sandboxed iframe) and other non-URLs
  }
}

/**
 * CORS for /graphql: the `cors` package (Express's own, kept by the Express team) answers preflights and
 * adds the headers for allowed origins. It lets an origin it does not allow through untouched, so this also
 * answers every preflight itself (204, no Access-Control-* headers: the browser refuses the call) rather than
 * passing OPTIONS on to Apollo, and says `Vary: Origin` on every answer, since the headers depend on it.
 *
 * CSRF prevention (Apollo's `csrfPrevention`) is unchanged: a request a browser sends without a preflight
 * (a GET, or a POST with a form content type) is still refused unless it carries a header only a script
 * can set, whatever its origin.
 */
export function corsMiddleware(config: CorsConfig): RequestHandler[] {
  const headers = cors({
    origin: (origin, allow) => allow(null, corsAllows(config, origin)),
    credentials: config.credentials,
    methods: ['GET', 'POST'],
    // Allowed origins may send the headers they ask for (Authorization, content-type, Apollo's client headers).
    exposedHeaders: [REQUEST_ID_HEADER],
    // Chromium caps this at 2 hours; 10 minutes keeps a changed CORS_ORIGINS from lingering in browsers.
    maxAge: 600,
  });
  return [
    (_req: Request, res: Response, next: NextFunction) => {
      res.vary('Origin');
      next();
    },
    headers,
    (req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'OPTIONS') return next();
      res.setHeader('Allow', 'GET, POST, OPTIONS');
      res.status(204).end();
    },
  ];
}
