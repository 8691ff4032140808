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
import { NodeResolver } from './node/node.resolver.js';
import { UploadJobConnectionResolver, UploadJobResolver } from './upload-job/upload-job.resolver.js';
import { UpstreamHealthResolver } from './upstream/upstream-health.resolver.js';
import type { UserRef } from './user/user.type.js';
import { UserResolver } from './user/user.resolver.js';
import { fieldScopesFromMetadata, withFederationDirectives } from './federation-directives.js';
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

/**
 * Federation 2.9: the first version with demand control (`@cost`, `@listSize`) after directive auth
 * (`@authenticated`, `@requiresScopes`, 2.5), and the newest the Guild's composer (Hive Gateway's)
 * accepts; @apollo/composition accepts it too.
 */
export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@tag", "@authenticated", "@requiresScopes", "@cost", "@listSize"])';

/**
 * The scope a router's `_entities` call needs for each entity type (checked in `__resolveReference`,
 * and emitted on the type as `@requiresScopes` so a router refuses the reference itself).
 */
const ENTITY_SCOPES = {
  Device: [SCOPES.read],
  User: [SCOPES.read],
  UploadJob: [SCOPES.read],
} as const satisfies Record<string, readonly string[]>;

/**
 * @apollo/subgraph adds `_Service` with an undescribed `sdl`; declared here with its description, it
 * keeps the library's shape and is printed described like every other field.
 */
const SERVICE_TYPE = `type _Service {
  """The subgraph SDL with its federation directives, as a router composes it."""
  sdl: String
}`;

const referenceResolvers = {
  Device: {
    __resolveReference(
      reference: { id?: string; imei?: string; serialNumber?: string },
      context: GraphContext,
    ): DeviceRef {
      requireScope(context.auth, ENTITY_SCOPES.Device);
      const lookup = lookupOf(reference);
      return 'imei' in lookup
        ? { imei: lookup.imei, serialNumber: null }
        : { imei: null, serialNumber: lookup.serialNumber };
    },
  },
  User: {
    __resolveReference(reference: { userId: string }, context: GraphContext): UserRef {
      requireScope(context.auth, ENTITY_SCOPES.User);
      return { userId: reference.userId };
    },
  },
  UploadJob: {
    __resolveReference(reference: { id: string }, context: GraphContext): Promise<UploadJob | null> {
      requireScope(context.auth, ENTITY_SCOPES.UploadJob);
      return context.jobs.get(reference.id);
    },
  },
};

/** type-graphql names the root types but cannot describe them; their descriptions are set here. */
const ROOT_TYPE_DESCRIPTIONS = {
  query:
    'Reads: devices joined across KDMS, Knox Manage and Box, fleet counts, Knox Manage users, upload jobs, any object by its global id (node), and whether each API answers.',
  mutation:
    'Writes: device uploads and deletes in KDMS (as upload jobs), device access changes in Box, and password checks with Knox Manage.',
  subscription: 'Live changes, over graphql-ws on /graphql.',
} as const;

function describeRootTypes(schema: GraphQLSchema): void {
  schema.getQueryType()!.description = ROOT_TYPE_DESCRIPTIONS.query;
  const mutation = schema.getMutationType();
  if (mutation) mutation.description = ROOT_TYPE_DESCRIPTIONS.mutation;
  const subscription = schema.getSubscriptionType();
  if (subscription) subscription.description = ROOT_TYPE_DESCRIPTIONS.subscription;
}

export async function buildFleetgraphSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      DeviceResolver,
      DeviceConnectionResolver,
      ManagedDeviceResolver,
      UserResolver,
      UploadJobResolver,
      UploadJobConnectionResolver,
      UpstreamHealthResolver,
      NodeResolver,
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
  describeRootTypes(schema);
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  leanFieldResolvers(resolvers);
  for (const [type, extra] of Object.entries(referenceResolvers))
    resolvers[type] = { ...resolvers[type], ...extra };
  return buildSubgraphSchema({
    typeDefs: withFederationDirectives(
      parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}\n${SERVICE_TYPE}`),
      fieldScopesFromMetadata(),
      new Map(Object.entries(ENTITY_SCOPES)),
    ),
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
