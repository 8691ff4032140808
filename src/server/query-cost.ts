import { getDirective } from '@graphql-tools/utils';
import { getNamedType, isCompositeType } from 'graphql';
import type { DocumentNode, GraphQLField, GraphQLSchema } from 'graphql';
import { getComplexity } from 'graphql-query-complexity';
import type { ComplexityEstimator } from 'graphql-query-complexity';

/**
 * A query's cost as a router's demand control works it out from the subgraph's `@cost` and `@listSize`
 * directives (Federation 2.9; the IBM GraphQL cost specification): a field of an object type costs 1,
 * a scalar or enum 0, unless `@cost` says otherwise; a list multiplies what it holds by its slicing
 * argument (`first`, its default when omitted) or its assumed size, and `sizedFields` moves that factor
 * onto the connection's `edges`. `_entities` is costed per representation, as a router's batch would be.
 * graphql-query-complexity walks the document (fragments, @skip/@include, variables); this estimator
 * only reads the directives.
 */
interface FieldCost {
  weight: number;
  slicingArguments: readonly string[];
  assumedSize: number | null;
  sized: boolean;
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
    sized: (listSize?.sizedFields?.length ?? 0) > 0,
  };
  costs.set(field, computed);
  return computed;
}

export function demandControlEstimator(schema: GraphQLSchema): ComplexityEstimator {
  // A router adds 10 for a mutation operation (its default operation-type cost); counted here on each root
  // mutation field, which is the same for the one-mutation operations clients send.
  const mutation = schema.getMutationType();
  return ({ type, field, args, childComplexity }) => {
    if (mutation && type === mutation) return MUTATION_COST + fieldCost(field, args, childComplexity);
    return fieldCost(field, args, childComplexity);
  };
  function fieldCost(
    field: GraphQLField<unknown, unknown>,
    args: Record<string, unknown>,
    childComplexity: number,
  ): number {
    if (field.name === '_entities') {
      const representations = Array.isArray(args.representations) ? args.representations.length : 1;
      return representations * childComplexity;
    }
    const { weight, slicingArguments, assumedSize, sized } = fieldCostOf(schema, field);
    const slices = slicingArguments
      .map((name) => args[name] as unknown)
      .filter((value): value is number => typeof value === 'number');
    const factor = slices.length > 0 ? Math.max(...slices) : (assumedSize ?? 1);
    return sized ? weight + factor * childComplexity : factor * (weight + childComplexity);
  }
}

export function demandControlCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
): number {
  return getComplexity({ schema, query: document, variables, estimators: [demandControlEstimator(schema)] });
}
