import { BOX_API_KEY_HEADER, boxRegistry } from '../../upstreams/box/box.wire.js';
import type { HttpEmulator } from '../core/http-emulator.js';
import { buildOpenApiDocument } from '../core/openapi.js';

/**
 * OpenAPI 3.0 description of what the Box emulator speaks (served at `GET /openapi.json`), built from its
 * route table and the wire schemas in box.wire.ts, so it cannot describe another API than the one served.
 */
export function boxOpenApi(http: HttpEmulator): Record<string, unknown> {
  return buildOpenApiDocument(http, {
    title: 'Red Hat Mobile Application Platform admin devices API (Fleetgraph emulator)',
    description:
      'The Box admin devices API (Platform API, chapter 6) as the Fleetgraph emulator speaks it. ' +
      'Every call needs an API key in X-FH-AUTH-USER; failures answer {"status": "error", "message"}.',
    securitySchemes: {
      apiKey: { type: 'apiKey', in: 'header', name: BOX_API_KEY_HEADER.toUpperCase() },
    },
    registry: boxRegistry,
  });
}
