import { z } from 'zod';
import { toOpenApiComponents } from '../../upstreams/wire-schema.js';
import type { HttpEmulator, RouteContract } from './http-emulator.js';

/**
 * An emulator's OpenAPI 3.0 document, built from its route table and the API's wire schemas: the
 * same zod schemas the client validates answers with, so the document cannot describe another API than
 * the one the client reads. Schemas registered in the API's registry become `components.schemas`.
 */
export interface OpenApiInfo {
  title: string;
  description: string;
  securitySchemes: Record<string, unknown>;
  /** The API's own registry of named wire schemas. */
  registry: z.core.$ZodRegistry<{ id: string }>;
}

type Json = Record<string, unknown>;

export function buildOpenApiDocument(http: HttpEmulator, info: OpenApiInfo): Json {
  // An unnamed schema is inlined with the same canonical wire types as the components.
  const inline = (schema: z.ZodType): Json => {
    const scratch = z.registry<{ id: string }>();
    scratch.add(schema, { id: 'Inline' });
    return toOpenApiComponents(scratch).Inline as Json;
  };
  const schemaRef = (schema: z.ZodType): Json => {
    const id = info.registry.get(schema)?.id;
    return id ? { $ref: `#/components/schemas/${id}` } : inline(schema);
  };
  const paths: Record<string, Json> = {};
  for (const { method, template, contract } of http.apiOperations()) {
    (paths[template] ??= {})[method.toLowerCase()] = operation(template, contract, schemaRef, inline);
  }
  return {
    openapi: '3.0.3',
    info: { title: info.title, version: '1.0.0', description: info.description },
    servers: [{ url: '/' }],
    paths,
    components: { securitySchemes: info.securitySchemes, schemas: toOpenApiComponents(info.registry) },
  };
}

function operation(
  template: string,
  contract: RouteContract,
  schemaRef: (schema: z.ZodType) => Json,
  inline: (schema: z.ZodType) => Json,
): Json {
  const parameters: Json[] = [...template.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (contract.query) {
    const query = inline(contract.query) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  const body = contract.body;
  const requestBody = body
    ? 'json' in body
      ? { required: true, content: { 'application/json': { schema: schemaRef(body.json) } } }
      : { required: true, content: { 'application/x-www-form-urlencoded': { schema: schemaRef(body.form) } } }
    : undefined;
  const responses = Object.fromEntries(
    Object.entries(contract.responses).map(([status, response]) => [
      status,
      {
        description: response.description,
        ...(response.schema
          ? {
              content: {
                [response.contentType ?? 'application/json']: { schema: schemaRef(response.schema) },
              },
            }
          : response.contentType
            ? { content: { [response.contentType]: { schema: { type: 'string' } } } }
            : {}),
      },
    ]),
  );
  return {
    operationId: contract.operationId,
    ...(contract.summary ? { summary: contract.summary } : {}),
    security: contract.security ? [{ [contract.security]: [] }] : [],
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}
