import { Kind, parse, visit } from 'graphql';
import type { ConstDirectiveNode, DocumentNode, FieldDefinitionNode, TypeNode } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

/**
 * The federation contract a router enforces, derived from what the code already says, never written
 * twice: `@requiresScopes` and `@authenticated` (Federation 2.5) from each field's `@Authorized`
 * scopes, and `@cost`/`@listSize` (Federation 2.9, demand control) from how the fields page and what
 * they cost upstream. Fleetgraph's own cost limit (src/server/query-cost.ts) reads the same directives
 * from the built schema, so the router and the subgraph agree on what a query costs.
 */

/**
 * The contract mark for what only operators and other services use (API health, password checks). A
 * router's contract variant that excludes `internal` is the graph for frontends and partners; elements
 * with no tag are in every contract. Put on fields and types with type-graphql's `@Directive`.
 */
export const INTERNAL_TAG = '@tag(name: "internal")';

/** `Type.field` → the scopes `@Authorized` lists (any one suffices); empty = any authenticated caller. */
export type FieldScopes = Map<string, readonly string[]>;

/**
 * Lists that cost an upstream call for each parent (Box reads a device's apps and users one device at a
 * time). A router multiplies a list field's weight by its size (assumed 10 here), so 2 makes each
 * device's apps cost 20 where a plain object costs 1.
 */
export const PER_PARENT_CALL_COST: Readonly<Record<string, number>> = {
  'Device.apps': 2,
  'Device.users': 2,
};

/** Lists without `first` (a device's apps and users, a job's failures): the length a router assumes. */
export const UNPAGED_LIST_SIZE = 10;

/** The slicing argument of every paged list and connection. */
const SLICING_ARGUMENT = 'first';

/** Scopes of every field type-graphql authorizes, read from its metadata once the schema is built. */
export function fieldScopesFromMetadata(): FieldScopes {
  const storage = getMetadataStorage();
  const typeNameOf = new Map<unknown, string>(storage.objectTypes.map((o) => [o.target, o.name]));
  const scopes: FieldScopes = new Map();
  const note = (type: string | undefined, field: string, roles: readonly unknown[] | undefined) => {
    if (type && roles) scopes.set(`${type}.${field}`, roles.map(String));
  };
  for (const query of storage.queries) note('Query', query.schemaName, query.roles);
  for (const mutation of storage.mutations) note('Mutation', mutation.schemaName, mutation.roles);
  for (const subscription of storage.subscriptions)
    note('Subscription', subscription.schemaName, subscription.roles);
  for (const resolver of storage.fieldResolvers)
    note(
      resolver.getObjectType ? typeNameOf.get(resolver.getObjectType()) : undefined,
      resolver.schemaName,
      resolver.roles,
    );
  for (const field of storage.authorizedFields)
    note(typeNameOf.get(field.target), field.fieldName, field.roles);
  return scopes;
}

const directiveNode = (source: string): ConstDirectiveNode => {
  const document = parse(`type T { f: Int ${source} }`);
  const type = document.definitions[0];
  if (type?.kind !== Kind.OBJECT_TYPE_DEFINITION) throw new Error('unreachable: parsed a type');
  return type.fields![0]!.directives![0]!;
};

const isList = (type: TypeNode): boolean =>
  type.kind === Kind.LIST_TYPE || (type.kind === Kind.NON_NULL_TYPE && isList(type.type));
const namedTypeOf = (type: TypeNode): string =>
  type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type);

function directivesFor(
  typeName: string,
  field: FieldDefinitionNode,
  scopes: FieldScopes,
): ConstDirectiveNode[] {
  const key = `${typeName}.${field.name.value}`;
  const added: ConstDirectiveNode[] = [];
  const required = scopes.get(key);
  if (required !== undefined) {
    added.push(
      required.length === 0
        ? directiveNode('@authenticated')
        : directiveNode(
            `@requiresScopes(scopes: [${required.map((s) => `[${JSON.stringify(s)}]`).join(', ')}])`,
          ),
    );
  }
  const weight = PER_PARENT_CALL_COST[key];
  if (weight !== undefined) added.push(directiveNode(`@cost(weight: ${weight})`));
  const paged = field.arguments?.some((a) => a.name.value === SLICING_ARGUMENT) ?? false;
  if (paged && namedTypeOf(field.type).endsWith('Connection')) {
    added.push(
      directiveNode(
        `@listSize(slicingArguments: ["${SLICING_ARGUMENT}"], sizedFields: ["edges"], requireOneSlicingArgument: false)`,
      ),
    );
  } else if (paged && isList(field.type)) {
    added.push(
      directiveNode(`@listSize(slicingArguments: ["${SLICING_ARGUMENT}"], requireOneSlicingArgument: false)`),
    );
  } else if (
    isList(field.type) &&
    !field.name.value.startsWith('_') &&
    // A connection's edges are sized by the connection's own `first` (`sizedFields`).
    !(typeName.endsWith('Connection') && field.name.value === 'edges')
  ) {
    added.push(directiveNode(`@listSize(assumedSize: ${UNPAGED_LIST_SIZE})`));
  }
  return added;
}

const scopesDirective = (required: readonly string[]): ConstDirectiveNode =>
  required.length === 0
    ? directiveNode('@authenticated')
    : directiveNode(`@requiresScopes(scopes: [${required.map((s) => `[${JSON.stringify(s)}]`).join(', ')}])`);

/**
 * The printed type-graphql SDL with the contract's directives added to its fields, and to the entity
 * types whose references (`_entities`) need a scope of their own.
 */
export function withFederationDirectives(
  document: DocumentNode,
  scopes: FieldScopes,
  entityScopes: ReadonlyMap<string, readonly string[]> = new Map(),
): DocumentNode {
  let typeName = '';
  return visit(document, {
    ObjectTypeDefinition: {
      enter(node) {
        typeName = node.name.value;
        const required = entityScopes.get(typeName);
        return required
          ? { ...node, directives: [...(node.directives ?? []), scopesDirective(required)] }
          : undefined;
      },
    },
    ObjectTypeExtension: { enter: (node) => void (typeName = node.name.value) },
    InterfaceTypeDefinition: { enter: () => void (typeName = '') },
    FieldDefinition(node) {
      if (!typeName) return undefined; // Federation refuses auth and cost directives on interface fields
      const added = directivesFor(typeName, node, scopes);
      return added.length > 0 ? { ...node, directives: [...(node.directives ?? []), ...added] } : undefined;
    },
  });
}
