import { getDirective } from '@graphql-tools/utils';
import { getNamedType, isCompositeType, Kind } from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLSchema,
  SelectionSetNode,
} from 'graphql';
import { getComplexity } from 'graphql-query-complexity';
import type { ComplexityEstimator } from 'graphql-query-complexity';

/**
 * A query's cost as a router's demand control works it out from the subgraph's `@cost` and `@listSize`
 * directives (Federation 2.9; the IBM GraphQL cost specification): a field of an object type costs 1,
 * a scalar or enum 0, unless `@cost` says otherwise; a list multiplies what it holds by its slicing
 * argument (`first`, its default when omitted) or its assumed size, and `sizedFields` moves that factor
 * onto the connection's `edges` alone (its `pageInfo` and `totalCount` are counted once, as Hive Gateway and
 * Apollo Router count them). `_entities` is costed per representation, as a router's batch would be.
 * graphql-query-complexity walks the document (fragments, @skip/@include, variables); this estimator
 * only reads the directives.
 */
interface FieldCost {
  weight: number;
  slicingArguments: readonly string[];
  assumedSize: number | null;
  sizedFields: ReadonlySet<string>;
}

const MUTATION_COST = 10;

/** Worked out once per field of the schema, not once per request: the directives never change. */
const costs = new WeakMap<GraphQLField<unknown, unknown>, FieldCost>();

function fieldCostOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): FieldCost {
  const known = costs.get(field);
  if (known) return known;
  const named = getNamedType(field.type);
  const cost = (getDirective(schema, field, 'cost')?.[0] ?? getDirective(schema, named, 'cost')?.[0]) as
    { weight?: number } | undefined;
  const listSize = getDirective(schema, field, 'listSize')?.[0] as
    { assumedSize?: number; slicingArguments?: string[]; sizedFields?: string[] } | undefined;
  const computed: FieldCost = {
    weight: cost?.weight ?? (isCompositeType(named) ? 1 : 0),
    slicingArguments: listSize?.slicingArguments ?? [],
    assumedSize: listSize?.assumedSize ?? null,
    sizedFields: new Set(listSize?.sizedFields ?? []),
  };
  costs.set(field, computed);
  return computed;
}

/**
 * One estimator per document: it remembers what each field of the document cost, so that a connection with
 * `sizedFields` can multiply just those children (graphql-query-complexity hands an estimator only the sum).
 */
export function demandControlEstimator(schema: GraphQLSchema, document: DocumentNode): ComplexityEstimator {
  // A router adds 10 for a mutation operation (its default operation-type cost); counted here on each root
  // mutation field, which is the same for the one-mutation operations clients send.
  const mutation = schema.getMutationType();
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  // A field node's cost depends only on its own subtree and the variables, so one figure per node holds
  // wherever a fragment puts it. Nodes skipped by @skip/@include are never estimated and so count 0.
  const costOfNode = new Map<FieldNode, number>();
  return ({ type, field, args, childComplexity, node }) => {
    const cost = fieldCost(field, args, childComplexity, node);
    costOfNode.set(node, cost);
    return mutation && type === mutation ? MUTATION_COST + cost : cost;
  };

  /**
   * What the children named in `sizedFields` cost together, through inline fragments and spreads. A fragment
   * spread twice counts twice, as graphql-query-complexity sums it; `spreading` only stops a cycle.
   */
  function sizedChildrenCost(
    selectionSet: SelectionSetNode | undefined,
    sizedFields: ReadonlySet<string>,
    spreading = new Set<string>(),
  ): number {
    let total = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (sizedFields.has(selection.name.value)) total += costOfNode.get(selection) ?? 0;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += sizedChildrenCost(selection.selectionSet, sizedFields, spreading);
      } else if (!spreading.has(selection.name.value)) {
        spreading.add(selection.name.value);
        total += sizedChildrenCost(fragments.get(selection.name.value)?.selectionSet, sizedFields, spreading);
        spreading.delete(selection.name.value);
      }
    }
    return total;
  }

  function fieldCost(
    field: GraphQLField<unknown, unknown>,
    args: Record<string, unknown>,
    childComplexity: number,
    node: FieldNode,
  ): number {
    if (field.name === '_entities') {
      const representations = Array.isArray(args.representations) ? args.representations.length : 1;
      return representations * childComplexity;
    }
    const { weight, slicingArguments, assumedSize, sizedFields } = fieldCostOf(schema, field);
    const slices = slicingArguments
      .map((name) => args[name] as unknown)
      .filter((value): value is number => typeof value === 'number');
    const factor = slices.length > 0 ? Math.max(...slices) : (assumedSize ?? 1);
    if (sizedFields.size === 0) return factor * (weight + childComplexity);
    const sized = Math.min(sizedChildrenCost(node.selectionSet, sizedFields), childComplexity);
    return weight + factor * sized + (childComplexity - sized);
  }
}

export function demandControlCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
): number {
  return getComplexity({
    schema,
    query: document,
    variables,
    estimators: [demandControlEstimator(schema, document)],
  });
}
