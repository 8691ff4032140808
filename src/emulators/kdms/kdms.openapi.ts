import { KDMS_SCOPES, KDMS_TOKEN_PATH, kdmsRegistry } from '../../upstreams/kdms/kdms.wire.js';
import type { OpenApiInfo } from '../core/openapi.js';

/** The security scheme every KDMS and KWN route names: Knox cloud OAuth 2.0 client credentials. */
export const KDMS_SECURITY = 'knoxOAuth';

/** What the emulator's `GET /openapi.json` says about itself; paths and schemas come from its routes. */
export const kdmsOpenApiInfo: OpenApiInfo = {
  title: 'Knox Device Management Service (Fleetgraph emulator)',
  description:
    'KDMS, Knox cloud OAuth 2.0 and Knox Webhook Notification as the Fleetgraph emulator speaks them, built ' +
    'from the wire schemas the client reads answers with (src/upstreams/kdms/kdms.wire.ts). KDMS is in ' +
    'private preview: its JSON field names are ASSUMED, so every answer field the public tutorial does not ' +
    'name is optional. KwnKdmsEventNotification is the (equally assumed) body of the signed callbacks.',
  securitySchemes: {
    [KDMS_SECURITY]: {
      type: 'oauth2',
      flows: {
        clientCredentials: {
          tokenUrl: KDMS_TOKEN_PATH,
          scopes: {
            [KDMS_SCOPES.all]: 'All Knox Device Management Service functionality',
            [KDMS_SCOPES.upload]: 'Upload devices',
            [KDMS_SCOPES.delete]: 'Delete devices',
            [KDMS_SCOPES.read]: 'Get devices',
            [KDMS_SCOPES.kaiDelete]: 'Delete devices from Knox Asset Intelligence',
          },
        },
      },
    },
  },
  registry: kdmsRegistry,
};
