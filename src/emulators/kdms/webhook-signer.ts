import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe, which needs it
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CompactSign } from 'jose';
import { KWN_SIGNATURE_ALGORITHM } from '../../upstreams/kdms/kdms.wire.js';

/**
 * The emulator's stand-in for the Samsung Knox validation certificate: a fresh RSA key and a self-signed
 * X.509 certificate per emulator start, served at `GET /downloadCertificate`, and the compact JWS
 * (`x-wsm-signature`) over each callback body.
 */
export interface WebhookSigner {
  certificatePem: string;
  /** Compact JWS whose payload part is base64url(body): the receiver checks it equals the raw body.
   * `detached` leaves the payload part empty (RFC 7515 appendix F): the receiver supplies the body. */
  sign(body: Uint8Array, detached?: boolean): Promise<string>;
}

const RSA_ALGORITHM = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

export async function createWebhookSigner(
  commonName = 'Knox Webhook Notification (Fleetgraph emulator)',
): Promise<WebhookSigner> {
  // Node's webcrypto is the standard Crypto; the cast bridges Node's and the DOM's type declarations.
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = (await webcrypto.subtle.generateKey(RSA_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: now.toString(16),
    name: `CN=${commonName}, O=Fleetgraph emulators`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 24 * 3600 * 1000),
    signingAlgorithm: RSA_ALGORITHM,
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const thumbprint = Buffer.from(await certificate.getThumbprint('SHA-256')).toString('base64url');
  return {
    certificatePem: certificate.toString('pem'),
    sign: async (body, detached = false) => {
      const jws = await new CompactSign(body)
        .setProtectedHeader({ alg: KWN_SIGNATURE_ALGORITHM, 'x5t#S256': thumbprint })
        .sign(keys.privateKey);
      if (!detached) return jws;
      const [header, , signature] = jws.split('.');
      return `${header}..${signature}`;
    },
  };
}
