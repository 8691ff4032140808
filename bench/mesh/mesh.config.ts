import { createPrefixTransform, defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

/**
 * GraphQL Mesh v1 (system d of the benchmark): the three emulators' OpenAPI documents composed as
 * they are, with no hand-written glue. Tokens are fetched by the benchmark and passed in the env.
 */
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('KDMS', {
        source: `${env('MESH_KDMS_URL')}/openapi.json`,
        endpoint: env('MESH_KDMS_URL'),
        operationHeaders: { Authorization: `Bearer ${env('MESH_KDMS_TOKEN')}` },
      }),
      // The three APIs all have a "Device": prefix type names so they do not merge.
      transforms: [createPrefixTransform({ value: 'Kdms_' })],
    },
    {
      sourceHandler: loadOpenAPISubgraph('KnoxManage', {
        source: `${env('MESH_KNOX_MANAGE_URL')}/openapi.json`,
        endpoint: env('MESH_KNOX_MANAGE_URL'),
        operationHeaders: { Authorization: `Bearer ${env('MESH_KNOX_MANAGE_TOKEN')}` },
      }),
      transforms: [createPrefixTransform({ value: 'KnoxManage_' })],
    },
    {
      sourceHandler: loadOpenAPISubgraph('Box', {
        source: `${env('MESH_BOX_URL')}/openapi.json`,
        endpoint: env('MESH_BOX_URL'),
        operationHeaders: { 'X-FH-AUTH-USER': env('MESH_BOX_API_KEY') },
      }),
      transforms: [createPrefixTransform({ value: 'Box_' })],
    },
  ],
});
