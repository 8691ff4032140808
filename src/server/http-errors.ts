import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import { WEBHOOK_PATH } from './webhook-route.js';

/**
 * The last word on HTTP failures Express itself raises (a body that is not JSON, one too large, a bug in
 * a route): a JSON answer with a GraphQL-style `extensions.code`, never Express's HTML page, and a log
 * line that says what failed without the body, a header value or the parser's message (Node's JSON
 * errors quote the input, which can hold a password).
 */
interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
}

const KNOWN: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': {
    status: 400,
    code: 'BAD_REQUEST',
    message: 'The request body is not valid JSON',
  },
  'entity.too.large': {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'The request body is larger than this server accepts',
  },
  'encoding.unsupported': {
    status: 415,
    code: 'BAD_REQUEST',
    message: 'The request body has an unsupported encoding',
  },
  'charset.unsupported': {
    status: 415,
    code: 'BAD_REQUEST',
    message: 'The request body has an unsupported charset',
  },
  'request.aborted': { status: 400, code: 'BAD_REQUEST', message: 'The request was aborted' },
};

export function httpErrorHandler(logger: Logger) {
  // Express recognises an error handler by its four parameters.
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const parserError = (error ?? {}) as BodyParserError;
    const known = parserError.type ? KNOWN[parserError.type] : undefined;
    const status = known?.status ?? 500;
    const code = known?.code ?? 'INTERNAL_SERVER_ERROR';
    const fields = {
      requestId: res.locals.requestId as string | undefined,
      method: req.method,
      path: req.path,
      status,
      code,
      // The error's kind, never its message: parser messages quote the body.
      errorType: parserError.type ?? (error instanceof Error ? error.name : typeof error),
    };
    if (status >= 500) logger.error(fields, 'request failed');
    else logger.warn(fields, 'request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .status(status)
      .json({ errors: [{ message: known?.message ?? 'Internal server error', extensions: { code } }] });
  };
}

/**
 * Header bytes allowed outside the webhook route. The server's own limit is large because Knox Webhook
 * Notification may put the whole signed callback in a header; every other route refuses big headers
 * before any of its work (auth, parsing) runs, and closes the connection so the bytes are let go.
 */
export const MAX_HEADER_BYTES = 32 * 1024;

export function headerBytes(req: IncomingMessage): number {
  let bytes = 0;
  for (const part of req.rawHeaders) bytes += part.length + 2;
  return bytes;
}

/** Answers 431 for big headers anywhere but the webhook route; returns true when it answered. */
export function refuseLargeHeaders(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes = MAX_HEADER_BYTES,
): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (path === WEBHOOK_PATH || headerBytes(req) <= maxBytes) return false;
  const body = JSON.stringify({
    errors: [
      {
        message: `Request headers are larger than ${maxBytes} bytes`,
        extensions: { code: 'REQUEST_HEADER_FIELDS_TOO_LARGE' },
      },
    ],
  });
  res.writeHead(431, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
  return true;
}
