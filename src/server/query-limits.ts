import { GraphQLError, Kind, parse, visit } from 'graphql';
import type { DocumentNode, GraphQLSchema, SelectionSetNode, ValueNode } from 'graphql';
import type { QueryLimits } from '../config/config.js';
import { demandControlCost } from './query-cost.js';

/**
 * Limits checked on the parsed document before Apollo validates or executes anything, so an abusive
 * document costs one parse and yields one clear error (not, say, one validation error per unknown
 * directive). Cost is what a router's demand control estimates from the schema's `@cost` and
 * `@listSize` directives (query-cost.ts), so a query the router lets through is not refused here.
 */
export class QueryLimitError extends GraphQLError {
  constructor(limit: string, message: string, max: number, actual: number) {
    super(message, {
      extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit, max, actual, http: { status: 400 } },
    });
  }
}

/**
 * Representations one `_entities` call may carry. A router sends one call per query-plan fetch, so this
 * is the largest page another subgraph can ask Fleetgraph to join.
 */
const MAX_REPRESENTATIONS = 1000;

function parseWithLimits(source: string, limits: QueryLimits): DocumentNode {
  try {
    return parse(source, { maxTokens: limits.maxTokens });
  } catch (error) {
    if (
      error instanceof GraphQLError &&
      /tokens\. Parsing aborted|more th[ae]n \d+ tokens/i.test(error.message)
    ) {
      throw new QueryLimitError(
        'tokens',
        `Query is too long: more than ${limits.maxTokens} tokens`,
        limits.maxTokens,
        limits.maxTokens + 1,
      );
    }
    throw error;
  }
}

/** The limits the document's text alone decides (aliases, directives, repeats, depth); throws the first broken. */
function checkDocumentLimits(document: DocumentNode, limits: QueryLimits): void {
  let aliases = 0;
  let directives = 0;
  visit(document, {
    Field(node) {
      if (node.alias) aliases += 1;
    },
    Directive() {
      directives += 1;
    },
    SelectionSet(node) {
      checkRepeats(node, limits);
    },
  });
  if (aliases > limits.maxAliases)
    throw new QueryLimitError(
      'aliases',
      `Too many aliases: ${aliases} (at most ${limits.maxAliases})`,
      limits.maxAliases,
      aliases,
    );
  if (directives > limits.maxDirectives) {
    throw new QueryLimitError(
      'directives',
      `Too many directives: ${directives} (at most ${limits.maxDirectives})`,
      limits.maxDirectives,
      directives,
    );
  }
  const fragments = new Map(
    document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const depth = depthOf(definition.selectionSet, fragments, 0, new Set());
    if (depth > limits.maxDepth)
      throw new QueryLimitError(
        'depth',
        `Query is too deep: depth ${depth} (at most ${limits.maxDepth})`,
        limits.maxDepth,
        depth,
      );
  }
}

/** The limits that depend on the request's variables too (representations, cost); throws the first broken. */
function checkVariableLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  limits: QueryLimits,
): void {
  const representations = largestRepresentations(document, variables ?? {});
  if (representations > MAX_REPRESENTATIONS) {
    throw new QueryLimitError(
      'representations',
      `Too many _entities representations: ${representations} (at most ${MAX_REPRESENTATIONS})`,
      MAX_REPRESENTATIONS,
      representations,
    );
  }
  const cost = demandControlCost(schema, document, variables ?? {});
  if (cost > limits.maxCost) {
    throw new QueryLimitError(
      'cost',
      `Query is too expensive: estimated cost ${cost} (at most ${limits.maxCost}); ask for fewer items with first`,
      limits.maxCost,
      cost,
    );
  }
}

/** Documents remembered, and their total length: enough for every operation a fleet's clients send. */
const REMEMBERED_DOCUMENTS = 500;
const REMEMBERED_CHARACTERS = 4_000_000;

/**
 * The query limits by source text, remembering what it found: clients and routers send the same few
 * documents over and over, and parsing and walking each again was a tenth of what a request allocated
 * (measured on `_entities` × 100 with literal representations). What the text alone decides is worked
 * out once per document; a document that declares no variables always gets the same answer, which is
 * kept whole; one with variables is checked against each request's variables for representations and
 * cost only. Least recently used documents go first.
 */
export class QueryLimiter {
  private readonly remembered = new Map<
    string,
    { document: DocumentNode; refusal?: QueryLimitError | null }
  >();
  private characters = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: QueryLimits,
  ) {}

  /** Throws QueryLimitError for the first limit the document breaks, or its syntax error. */
  check(source: string, variables: Record<string, unknown> | undefined): void {
    let known = this.remembered.get(source);
    if (known) {
      this.remembered.delete(source);
      this.remembered.set(source, known);
    } else {
      known = this.judge(parseWithLimits(source, this.limits), variables);
      this.remember(source, known);
    }
    if (known.refusal) throw known.refusal;
    if (known.refusal === undefined) checkVariableLimits(this.schema, known.document, variables, this.limits);
  }

  /** A new document's lasting verdict: a refusal, null (passes whatever comes), or undefined (ask per request). */
  private judge(
    document: DocumentNode,
    variables: Record<string, unknown> | undefined,
  ): { document: DocumentNode; refusal?: QueryLimitError | null } {
    const fixed = document.definitions.every(
      (d) => d.kind !== Kind.OPERATION_DEFINITION || !d.variableDefinitions?.length,
    );
    try {
      checkDocumentLimits(document, this.limits);
      if (!fixed) return { document };
      checkVariableLimits(this.schema, document, variables, this.limits);
      return { document, refusal: null };
    } catch (error) {
      if (error instanceof QueryLimitError) return { document, refusal: error };
      throw error;
    }
  }

  private remember(
    source: string,
    entry: { document: DocumentNode; refusal?: QueryLimitError | null },
  ): void {
    if (source.length > REMEMBERED_CHARACTERS / 20) return;
    this.remembered.set(source, entry);
    this.characters += source.length;
    for (const oldest of this.remembered.keys()) {
      if (this.remembered.size <= REMEMBERED_DOCUMENTS && this.characters <= REMEMBERED_CHARACTERS) break;
      this.remembered.delete(oldest);
      this.characters -= oldest.length;
    }
  }
}

function checkRepeats(node: SelectionSetNode, limits: QueryLimits): void {
  const counts = new Map<string, number>();
  for (const selection of node.selections) {
    if (selection.kind !== Kind.FIELD) continue;
    const key = selection.alias?.value ?? selection.name.value;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    if (count > limits.maxFieldRepeats) {
      throw new QueryLimitError(
        'fieldRepeats',
        `Field "${key}" is selected ${count} times in one selection (at most ${limits.maxFieldRepeats})`,
        limits.maxFieldRepeats,
        count,
      );
    }
  }
}

type Fragments = Map<string, { selectionSet: SelectionSetNode }>;

function depthOf(set: SelectionSetNode, fragments: Fragments, depth: number, visiting: Set<string>): number {
  let max = depth;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      max = Math.max(
        max,
        selection.selectionSet ? depthOf(selection.selectionSet, fragments, depth + 1, visiting) : depth + 1,
      );
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, depthOf(selection.selectionSet, fragments, depth, visiting));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // A fragment cycle is a validation error Apollo reports; here it must not loop.
      if (fragment && !visiting.has(name))
        max = Math.max(max, depthOf(fragment.selectionSet, fragments, depth, new Set([...visiting, name])));
    }
  }
  return max;
}

/** How many items a list argument carries: a literal list's length, or a variable's array length. */
function listLength(node: ValueNode | undefined, variables: Record<string, unknown>): number | null {
  if (!node) return null;
  if (node.kind === Kind.LIST) return node.values.length;
  if (node.kind === Kind.VARIABLE) {
    const value = variables[node.name.value];
    return Array.isArray(value) ? value.length : null;
  }
  return null;
}

function largestRepresentations(document: DocumentNode, variables: Record<string, unknown>): number {
  let largest = 0;
  visit(document, {
    Field(node) {
      if (node.name.value !== '_entities') return;
      const argument = node.arguments?.find((a) => a.name.value === 'representations');
      largest = Math.max(largest, listLength(argument?.value, variables) ?? 0);
    },
  });
  return largest;
}
