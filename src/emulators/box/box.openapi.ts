import { BOX_API_KEY_HEADER, BOX_API_PREFIX, BOX_PATHS } from '../../upstreams/box/box.wire.js';

/** OpenAPI 3.0 description of what the Box emulator speaks (served at `GET /openapi.json`). */
export function boxOpenApi(): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: unknown) => ({ 'application/json': { schema } });
  const ok = (schema: unknown) => ({ description: 'status "ok"', content: json(schema) });
  const errors = {
    '400': { description: 'Malformed body or missing cuid', content: json(ref('Error')) },
    '401': { description: 'Missing or unknown API key', content: json(ref('Error')) },
    '404': { description: 'Unknown cuid', content: json(ref('Error')) },
  };
  const byCuid = { required: true, content: json(ref('CuidRequest')) };
  const listOf = (item: string) => ({
    type: 'object',
    required: ['status', 'count', 'list'],
    properties: {
      status: { type: 'string', enum: ['ok'] },
      count: { type: 'integer' },
      list: { type: 'array', items: ref(item) },
    },
  });
  const api = (path: string) => BOX_API_PREFIX + path;
  const string = { type: 'string' };
  const boolean = { type: 'boolean' };
  return {
    openapi: '3.0.3',
    info: {
      title: 'Red Hat Mobile Application Platform admin devices API (Fleetgraph emulator)',
      version: '1.1.0',
      description:
        'The Box admin devices API (Platform API, chapter 6) as the Fleetgraph emulator speaks it.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    paths: {
      [api(BOX_PATHS.list)]: {
        post: {
          operationId: 'listDevices',
          requestBody: { required: false, content: json({ type: 'object' }) },
          responses: { '200': ok(listOf('Device')), ...errors },
        },
        get: { operationId: 'listDevicesGet', responses: { '200': ok(listOf('Device')), ...errors } },
      },
      [api(BOX_PATHS.read)]: {
        post: {
          operationId: 'readDevice',
          requestBody: byCuid,
          responses: { '200': ok(ref('DeviceRead')), ...errors },
        },
      },
      [api(BOX_PATHS.update)]: {
        post: {
          operationId: 'updateDevice',
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['cuid'],
              properties: { cuid: string, name: string, disabled: boolean, blacklisted: boolean },
            }),
          },
          responses: { '200': ok(ref('DeviceRead')), ...errors },
        },
      },
      [api(BOX_PATHS.listApps)]: {
        post: {
          operationId: 'listDeviceApps',
          requestBody: byCuid,
          responses: { '200': ok(listOf('App')), ...errors },
        },
      },
      [api(BOX_PATHS.listUsers)]: {
        post: {
          operationId: 'listDeviceUsers',
          requestBody: byCuid,
          responses: { '200': ok(listOf('DeviceUser')), ...errors },
        },
      },
    },
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: BOX_API_KEY_HEADER.toUpperCase() } },
      schemas: {
        Error: {
          type: 'object',
          required: ['status', 'message'],
          properties: { status: { type: 'string', enum: ['error'] }, message: string },
        },
        CuidRequest: { type: 'object', required: ['cuid'], properties: { cuid: string } },
        DeviceFields: {
          type: 'object',
          required: ['cuid', 'name', 'disabled', 'blacklisted'],
          properties: {
            cuid: string,
            name: string,
            disabled: boolean,
            blacklisted: boolean,
            domain: string,
            sysCreated: string,
            sysModified: string,
            sysVersion: { type: 'integer' },
          },
        },
        Device: {
          type: 'object',
          required: ['guid', 'fields'],
          properties: { guid: string, type: string, fields: ref('DeviceFields') },
        },
        DeviceRead: {
          type: 'object',
          required: ['status', 'guid', 'fields'],
          properties: {
            status: { type: 'string', enum: ['ok'] },
            guid: string,
            type: string,
            fields: ref('DeviceFields'),
          },
        },
        App: {
          type: 'object',
          properties: {
            guid: string,
            fields: { type: 'object', properties: { name: string, description: string } },
          },
        },
        DeviceUser: {
          type: 'object',
          properties: {
            guid: string,
            fields: { type: 'object', properties: { userId: string, email: string } },
          },
        },
      },
    },
  };
}
