import express from 'express';
import { SharedStoreError } from '../cache/errors.js';
import type { Router } from 'express';
import { JobCallback } from '../jobs/job-callback.js';
import type { CallbackOutcome, UploadJobService } from '../jobs/upload-jobs.js';
import type { WebhookVerifier } from '../jobs/webhook-verifier.js';
import type { Logger } from '../observability/logger.js';
import { formatJsonPath } from '../upstreams/errors.js';
import { KWN_SIGNATURE_HEADER } from '../upstreams/kdms/kdms.wire.js';

/**
 * `POST /webhooks/knox`: Knox Webhook Notification callbacks for KDMS uploads and deletes. The raw body
 * is verified against its JWS before it is parsed; anything unsigned or forged gets 401 and changes
 * nothing. A signed body is then read through the callback schema (kdms.wire.ts, plus what applying it
 * needs: job-callback.ts); one that does not fit gets 400 naming the JSON path and changes nothing.
 * Duplicates and callbacks that arrive before their job answer 200 too, so KWN stops retrying.
 */
export const WEBHOOK_PATH = '/webhooks/knox';
/**
 * The largest callback body read: one KDMS operation holds at most 10,000 devices (kdms.wire.ts), about
 * 1.2 MB of results. Larger bodies get 413 without being read (their Content-Length says so) or as soon
 * as they pass the bound.
 */
export const WEBHOOK_MAX_BODY_BYTES = 4 * 1024 * 1024;

export function webhookRouter(verifier: WebhookVerifier, jobs: UploadJobService, logger: Logger): Router {
  const router = express.Router();
  // No signature, no read: an unsigned callback is refused before its body is taken in.
  const requireSignature: express.RequestHandler = (req, res, next) => {
    if (req.get(KWN_SIGNATURE_HEADER)) return next();
    logger.warn({ reason: 'no signature header' }, 'webhook refused (401)');
    res
      .status(401)
      .setHeader('connection', 'close')
      .json({ error: 'invalid_signature', message: `the ${KWN_SIGNATURE_HEADER} header is missing` });
  };
  const boundedBody = express.raw({ type: () => true, limit: WEBHOOK_MAX_BODY_BYTES });
  router.post(WEBHOOK_PATH, requireSignature, boundedBody, (req, res, next) => {
    void (async () => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verdict = await verifier.verify(body, req.get(KWN_SIGNATURE_HEADER));
      if (!verdict.ok) {
        logger.warn({ reason: verdict.reason }, 'webhook refused (401)');
        res.status(401).json({ error: 'invalid_signature', message: verdict.reason });
        return;
      }
      const read = readNotification(body);
      if (!read.ok) {
        // Signed by Knox, yet not a body we can apply: nothing changes, and the poller settles the job.
        logger.warn({ path: read.path, problem: read.message }, 'webhook refused (400)');
        res.status(400).json({ error: 'invalid_body', message: read.message, path: read.path });
        return;
      }
      const notification = read.notification;
      let outcome: CallbackOutcome;
      try {
        outcome = await jobs.applyCallback(notification);
      } catch (error) {
        if (!(error instanceof SharedStoreError)) throw error;
        // Nothing was recorded: 503 makes Knox deliver the callback again later.
        logger.warn({ uploadId: notification.data.uploadId, err: error.message }, 'webhook deferred (503)');
        res
          .status(503)
          .setHeader('retry-after', '30')
          .json({ error: 'store_unavailable', message: error.message });
        return;
      }
      logger.info(
        { event: notification.eventType, uploadId: notification.data.uploadId, outcome },
        'webhook',
      );
      res.status(200).json({ outcome });
    })().catch(next);
  });
  return router;
}

type ReadNotification =
  { ok: true; notification: JobCallback } | { ok: false; path: string; message: string };

/** The callback body as JSON, read through the callback schema. */
function readNotification(body: Buffer): ReadNotification {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, path: '(the body)', message: 'the body is not JSON' };
  }
  const read = JobCallback.safeParse(json);
  if (read.success) return { ok: true, notification: read.data };
  const issue = read.error.issues[0];
  const path = formatJsonPath(issue?.path ?? []);
  const problem = (issue?.message ?? 'unreadable').replace(/^Invalid input: /, '');
  const more = read.error.issues.length > 1 ? ` (and ${read.error.issues.length - 1} more)` : '';
  return { ok: false, path, message: `not a KDMS callback: ${path}: ${problem}${more}` };
}
