import { compactVerify, importX509 } from 'jose';
import type { CryptoKey } from 'jose';
import { KWN_SIGNATURE_ALGORITHM } from '../upstreams/kdms/kdms.wire.js';

/**
 * Verifies Knox Webhook Notification callbacks: `x-wsm-signature` is a compact JWS (RS256) whose
 * payload must be exactly the raw request body, signed by the key of the Knox validation certificate.
 * The certificate is fetched once and cached; when a signature fails, it is fetched again (at most once
 * a minute) in case Samsung rotated it.
 */
export type VerificationResult = { ok: true } | { ok: false; reason: string };

const REFETCH_INTERVAL_MS = 60_000;

export class WebhookVerifier {
  private key: Promise<CryptoKey> | null = null;
  private fetchedAt = 0;

  constructor(private readonly fetchCertificate: () => Promise<string>) {}

  async verify(rawBody: Buffer, signature: string | undefined): Promise<VerificationResult> {
    if (!signature) return { ok: false, reason: 'missing x-wsm-signature header' };
    const parts = signature.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'x-wsm-signature is not a compact JWS' };
    // A detached JWS (RFC 7515 appendix F, `header..signature`) signs the body without repeating it.
    const jws = parts[1] === '' ? `${parts[0]}.${rawBody.toString('base64url')}.${parts[2]}` : signature;
    const first = await this.check(rawBody, jws, false);
    if (
      first.ok ||
      first.reason !== 'signature does not verify' ||
      Date.now() - this.fetchedAt < REFETCH_INTERVAL_MS
    )
      return first;
    return this.check(rawBody, jws, true);
  }

  private async check(rawBody: Buffer, signature: string, refetch: boolean): Promise<VerificationResult> {
    let key: CryptoKey;
    try {
      key = await this.currentKey(refetch);
    } catch (error) {
      return {
        ok: false,
        reason: `cannot load the Knox validation certificate: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    try {
      const { payload } = await compactVerify(signature, key, { algorithms: [KWN_SIGNATURE_ALGORITHM] });
      // The JWS must cover these exact bytes: a valid signature over another body is a forgery.
      return Buffer.from(payload).equals(rawBody)
        ? { ok: true }
        : { ok: false, reason: 'the signed payload is not the request body' };
    } catch {
      return { ok: false, reason: 'signature does not verify' };
    }
  }

  private currentKey(refetch: boolean): Promise<CryptoKey> {
    if (!this.key || refetch) {
      this.fetchedAt = Date.now();
      const loading = this.fetchCertificate().then((pem) => importX509(pem, KWN_SIGNATURE_ALGORITHM));
      // A failed fetch must not stick: the next callback tries again.
      loading.catch(() => {
        if (this.key === loading) this.key = null;
      });
      this.key = loading;
    }
    return this.key;
  }
}
