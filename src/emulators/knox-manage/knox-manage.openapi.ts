import { knoxManageRegistry } from '../../upstreams/knox-manage/knox-manage.wire.js';
import type { OpenApiInfo } from '../core/openapi.js';

/** What the emulator's `GET /openapi.json` says about itself; paths and schemas come from its routes. */
export const knoxManageOpenApiInfo: OpenApiInfo = {
  title: 'Knox Manage Open API (Fleetgraph emulator)',
  description:
    'The part of the published Knox Manage Open API that Fleetgraph uses, built from the wire schemas the ' +
    'client reads answers with. The token endpoint is described in the published introduction, not as a path.',
  securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
  registry: knoxManageRegistry,
};
