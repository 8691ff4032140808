import express from 'express';
import { SharedStoreError } from '../cache/errors.js';
import type { Router } from 'express';
import type { CallbackOutcome, UploadJobService } from '../jobs/upload-jobs.js';
import type { WebhookVerifier } from '../jobs/webhook-verifier.js';
import type { Logger } from '../observability/logger.js';
import { KWN_SIGNATURE_HEADER } from '../upstreams/kdms/kdms.wire.js';
import type { KwnKdmsEventNotification } from '../upstreams/kdms/kdms.wire.js';

/**
 * `POST /webhooks/knox`: Knox Webhook Notification callbacks for KDMS uploads and deletes. The raw body
 * is verified against its JWS before it is parsed; anything unsigned or forged gets 401 and changes
 * nothing. Duplicates and callbacks that arrive before their job answer 200 too, so KWN stops retrying.
 */
export const WEBHOOK_PATH = '/webhooks/knox';

export function webhookRouter(verifier: WebhookVerifier, jobs: UploadJobService, logger: Logger): Router {
  const router = express.Router();
  router.post(WEBHOOK_PATH, express.raw({ type: () => true, limit: '20mb' }), (req, res, next) => {
    void (async () => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verdict = await verifier.verify(body, req.get(KWN_SIGNATURE_HEADER));
      if (!verdict.ok) {
        logger.warn({ reason: verdict.reason }, 'webhook refused (401)');
        res.status(401).json({ error: 'invalid_signature', message: verdict.reason });
        return;
      }
      let notification: KwnKdmsEventNotification;
      try {
        notification = JSON.parse(body.toString('utf8')) as KwnKdmsEventNotification;
        if (
          typeof notification?.eventId !== 'string' ||
          typeof notification?.data?.uploadId !== 'string' ||
          !Array.isArray(notification.data.results)
        ) {
          throw new Error('not a KDMS event');
        }
      } catch (error) {
        res.status(400).json({
          error: 'invalid_body',
          message: error instanceof Error ? error.message : 'unreadable body',
        });
        return;
      }
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
