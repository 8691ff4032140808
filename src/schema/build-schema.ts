import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { execute, parse } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { DeviceRef } from '../domain/device-ref.js';
import type { UploadJob } from '../jobs/upload-job.js';
import { SCOPES } from '../domain/scopes.js';
import { requireScope, scopeAuthChecker } from './auth-checker.js';
import type { GraphContext } from './context.js';
import { DeviceConnectionResolver, DeviceResolver, lookupOf } from './device/device.resolver.js';
import { ManagedDeviceResolver } from './device/managed-device.resolver.js';
import { UploadJobResolver } from './upload-job/upload-job.resolver.js';
import { UpstreamHealthResolver } from './upstream/upstream-health.resolver.js';
import type { UserRef } from './user/user.type.js';
import { UserResolver } from './user/user.resolver.js';
import { leanFieldResolvers } from './lean-field-resolvers.js';

/**
 * The one seam between type-graphql and Apollo Federation (type-graphql's apollo-federation-2 example):
 * build the code-first schema, print it with its directives, and hand SDL plus resolvers to
 * `buildSubgraphSchema`, adding `__resolveReference` for each entity. Entity references go through the
 * same loaders as queries, so a router's batch of N representations costs one upstream batch.
 */
type SubgraphResolvers = Extract<
  Parameters<typeof buildSubgraphSchema>[0],
  { typeDefs: unknown }
>['resolvers'];

export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])';

const referenceResolvers = {
  Device: {
    __resolveReference(
      reference: { id?: string; imei?: string; serialNumber?: string },
      context: GraphContext,
    ): DeviceRef {
      requireScope(context.auth, [SCOPES.read]);
      const lookup = lookupOf(reference);
      return 'imei' in lookup
        ? { imei: lookup.imei, serialNumber: null }
        : { imei: null, serialNumber: lookup.serialNumber };
    },
  },
  User: {
    __resolveReference(reference: { userId: string }, context: GraphContext): UserRef {
      requireScope(context.auth, [SCOPES.read]);
      return { userId: reference.userId };
    },
  },
  UploadJob: {
    __resolveReference(reference: { id: string }, context: GraphContext): Promise<UploadJob | null> {
      requireScope(context.auth, [SCOPES.read]);
      return context.jobs.get(reference.id);
    },
  },
};

export async function buildFleetgraphSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      DeviceResolver,
      DeviceConnectionResolver,
      ManagedDeviceResolver,
      UserResolver,
      UploadJobResolver,
      UpstreamHealthResolver,
    ],
    skipCheck: true,
    validate: false,
    authChecker: scopeAuthChecker,
    // An @Authorized field whose checker allows it resolves; the checker throws FORBIDDEN/UNAUTHENTICATED itself.
    authMode: 'error',
    // type-graphql insists on a pubSub once a Subscription exists, but every subscription here brings its
    // own `subscribe` (jobs.watch), so topic-based routing is never used.
    pubSub: {
      publish: () => undefined,
      subscribe: (topic: string) => {
        throw new Error(
          `topic subscriptions are not used (asked for ${topic}); give @Subscription a subscribe function`,
        );
      },
    },
  });
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  leanFieldResolvers(resolvers);
  for (const [type, extra] of Object.entries(referenceResolvers))
    resolvers[type] = { ...resolvers[type], ...extra };
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`),
    // type-graphql's resolver map is structurally what @apollo/subgraph expects; the declared types differ.
    resolvers: resolvers as unknown as SubgraphResolvers,
  });
}

/** The subgraph SDL exactly as a router fetches it (`_service { sdl }`), committed as schema/schema.graphql. */
export async function printFleetgraphSdl(schema: GraphQLSchema): Promise<string> {
  const result = await execute({ schema, document: parse('{ _service { sdl } }') });
  const sdl = (result.data?._service as { sdl?: string } | undefined)?.sdl;
  if (!sdl) throw new Error(`the subgraph did not print its SDL: ${JSON.stringify(result.errors)}`);
  return sdl;
}
