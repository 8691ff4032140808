import { readFile } from 'node:fs/promises';
import { Kind, parse } from 'graphql';
import type {
  ArgumentNode,
  DefinitionNode,
  DocumentNode,
  FieldDefinitionNode,
  InputValueDefinitionNode,
  StringValueNode,
} from 'graphql';

/**
 * Every type, field, argument, enum value and directive Fleetgraph defines carries a description, checked
 * on the committed SDL (schema/schema.graphql, what a router and an explorer read), not on the code.
 *
 * Left out: what @apollo/subgraph adds to every subgraph (`_Service`, `_Any`, `_Entity`, `Query._entities`,
 * `Query._service`, the `link__*` and `federation__*` types, and the directives the federation `@link`s
 * define or import). Their text belongs to the federation specs, not to this schema, and changes with
 * the library.
 */
const SCHEMA_FILE = 'schema/schema.graphql';

/** A description that only repeats the name ("Name." on `name`) says nothing. */
const normalized = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

function describes(description: StringValueNode | undefined, name: string): boolean {
  const text = description?.value.trim() ?? '';
  return text.length > 0 && normalized(text) !== normalized(name);
}

/** Directive names the federation links bring in: `@link` itself and every name a `@link` imports. */
function federationDirectives(document: DocumentNode): Set<string> {
  const names = new Set(['link']);
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue;
      const imported = directive.arguments?.find((a: ArgumentNode) => a.name.value === 'import')?.value;
      if (imported?.kind !== Kind.LIST) continue;
      for (const item of imported.values)
        if (item.kind === Kind.STRING) names.add(item.value.replace(/^@/, ''));
    }
  }
  return names;
}

const fromFederation = (typeName: string) =>
  typeName.startsWith('_') || typeName.startsWith('link__') || typeName.startsWith('federation__');

/** Schema coordinates (`Type`, `Type.field`, `Type.field(arg:)`, `@directive(arg:)`) that lack a description. */
export function undescribed(document: DocumentNode): string[] {
  const missing: string[] = [];
  const federation = federationDirectives(document);
  const checkArguments = (owner: string, args: readonly InputValueDefinitionNode[] | undefined) => {
    for (const arg of args ?? [])
      if (!describes(arg.description, arg.name.value)) missing.push(`${owner}(${arg.name.value}:)`);
  };
  const checkFields = (
    type: string,
    fields: readonly (FieldDefinitionNode | InputValueDefinitionNode)[] | undefined,
  ) => {
    for (const field of fields ?? []) {
      // Query._entities and Query._service: the federation entry points.
      if (field.name.value.startsWith('_')) continue;
      const coordinate = `${type}.${field.name.value}`;
      if (!describes(field.description, field.name.value)) missing.push(coordinate);
      if (field.kind === Kind.FIELD_DEFINITION) checkArguments(coordinate, field.arguments);
    }
  };
  for (const definition of document.definitions as readonly DefinitionNode[]) {
    switch (definition.kind) {
      case Kind.DIRECTIVE_DEFINITION: {
        const name = definition.name.value;
        if (federation.has(name) || name.startsWith('federation__')) continue;
        if (!describes(definition.description, name)) missing.push(`@${name}`);
        checkArguments(`@${name}`, definition.arguments);
        break;
      }
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.UNION_TYPE_DEFINITION: {
        const name = definition.name.value;
        if (fromFederation(name)) continue;
        if (!describes(definition.description, name)) missing.push(name);
        if (definition.kind === Kind.ENUM_TYPE_DEFINITION) {
          for (const value of definition.values ?? [])
            if (!describes(value.description, value.name.value)) missing.push(`${name}.${value.name.value}`);
        } else if (
          definition.kind !== Kind.SCALAR_TYPE_DEFINITION &&
          definition.kind !== Kind.UNION_TYPE_DEFINITION
        ) {
          checkFields(name, definition.fields);
        }
        break;
      }
      default:
        break;
    }
  }
  return missing;
}

describe('schema descriptions', () => {
  it('describes every type, field, argument, enum value and directive of schema/schema.graphql', async () => {
    const document = parse(await readFile(SCHEMA_FILE, 'utf8'));
    expect(undescribed(document)).toEqual([]);
  });

  it('reports what lacks a description, by schema coordinate, and leaves out what federation adds', () => {
    const document = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      directive @key(fields: String!) repeatable on OBJECT
      directive @audited(reason: String) on FIELD_DEFINITION
      scalar _Any
      type _Service { sdl: String }
      """Reads."""
      type Query {
        """One thing."""
        thing(id: ID!, """Which kind of thing to look in.""" kind: Kind): Thing
        _service: _Service!
      }
      """A thing."""
      type Thing @key(fields: "id") {
        id: ID!
        """Name."""
        name: String
      }
      enum Kind { """The first kind.""" A B }
    `);
    expect(undescribed(document)).toEqual([
      '@audited',
      '@audited(reason:)',
      'Query.thing(id:)',
      'Thing.id',
      'Thing.name',
      'Kind',
      'Kind.B',
    ]);
  });
});
