import {
  KNOX_MANAGE_API_PREFIX,
  KNOX_MANAGE_DEVICE_STATUSES,
  KNOX_MANAGE_MAX_LIMIT,
  KNOX_MANAGE_PATHS,
  KNOX_MANAGE_TOKEN_PATH,
} from '../../upstreams/knox-manage/knox-manage.wire.js';

/** OpenAPI 3.0 description of what the Knox Manage emulator speaks (served at `GET /openapi.json`). */
export function knoxManageOpenApi(): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const form = (properties: Record<string, unknown>, required: string[] = []) => ({
    required: required.length > 0,
    content: {
      'application/x-www-form-urlencoded': {
        schema: { type: 'object', required: required.length ? required : undefined, properties },
      },
    },
  });
  const envelope = (value: unknown) => ({
    description:
      'Envelope; resultCode "0" is success, negative codes are validation or business errors (HTTP 200)',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['resultCode', 'resultMessage'],
          properties: {
            resultCode: { type: 'string' },
            resultMessage: { type: 'string' },
            resultValue: { ...(value as object), nullable: true },
          },
        },
      },
    },
  });
  const common = {
    '401': {
      description: 'Missing, invalid or expired token',
      content: { 'application/json': { schema: ref('OAuthError') } },
    },
    '429': {
      description: 'Rate limit exceeded (1,800 requests a minute); see Retry-After',
      content: { 'application/json': { schema: ref('OAuthError') } },
    },
  };
  const paging = {
    start: { type: 'integer', minimum: 0, default: 0, description: '0-based row offset' },
    limit: { type: 'integer', minimum: 1, maximum: KNOX_MANAGE_MAX_LIMIT, default: KNOX_MANAGE_MAX_LIMIT },
  };
  const api = (path: string) => KNOX_MANAGE_API_PREFIX + path;
  const string = { type: 'string' };
  return {
    openapi: '3.0.3',
    info: {
      title: 'Knox Manage Open API (Fleetgraph emulator)',
      version: '1.0.0',
      description: 'The subset of the Knox Manage Open API that Fleetgraph uses, as its emulator speaks it.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: {
      [KNOX_MANAGE_TOKEN_PATH]: {
        get: {
          operationId: 'generateTokenGet',
          summary: 'The same token request as query parameters, as some callers send it',
          security: [],
          parameters: ['grant_type', 'client_id', 'client_secret'].map((name) => ({
            name,
            in: 'query',
            required: true,
            schema: string,
          })),
          responses: {
            '200': { description: 'Token', content: { 'application/json': { schema: ref('Token') } } },
          },
        },
        post: {
          operationId: 'generateToken',
          security: [],
          requestBody: form(
            {
              grant_type: { type: 'string', enum: ['client_credentials'] },
              client_id: string,
              client_secret: string,
            },
            ['grant_type', 'client_id', 'client_secret'],
          ),
          responses: {
            '200': { description: 'Token', content: { 'application/json': { schema: ref('Token') } } },
            '400': {
              description: 'unsupported_grant_type',
              content: { 'application/json': { schema: ref('OAuthError') } },
            },
            '401': {
              description: 'invalid_client',
              content: { 'application/json': { schema: ref('OAuthError') } },
            },
          },
        },
      },
      [api(KNOX_MANAGE_PATHS.selectDeviceList)]: {
        post: {
          operationId: 'selectDeviceList',
          requestBody: form({
            ...paging,
            userId: { type: 'string', maxLength: 50 },
            deviceStatus: { type: 'string', enum: Object.keys(KNOX_MANAGE_DEVICE_STATUSES) },
          }),
          responses: {
            '200': envelope({
              type: 'object',
              properties: { total: { type: 'integer' }, deviceList: { type: 'array', items: ref('Device') } },
            }),
            ...common,
          },
        },
      },
      [api(KNOX_MANAGE_PATHS.selectDeviceInfoByImei)]: {
        post: {
          operationId: 'selectDeviceInfoByImei',
          requestBody: form({ imei: string }, ['imei']),
          responses: { '200': envelope(ref('DeviceInfo')), ...common },
        },
      },
      [api(KNOX_MANAGE_PATHS.selectDeviceInfoBySerialNumber)]: {
        post: {
          operationId: 'selectDeviceInfoBySerialNumber',
          requestBody: form({ serialNumber: string }, ['serialNumber']),
          responses: { '200': envelope(ref('DeviceInfo')), ...common },
        },
      },
      [api(KNOX_MANAGE_PATHS.selectDevicesByUser)]: {
        post: {
          operationId: 'selectDevicesByUser',
          requestBody: form({ userId: string }, ['userId']),
          responses: { '200': envelope({ type: 'array', items: ref('Device') }), ...common },
        },
      },
      [api(KNOX_MANAGE_PATHS.selectUsers)]: {
        post: {
          operationId: 'selectUsers',
          requestBody: form(paging),
          responses: {
            '200': envelope({
              type: 'object',
              properties: { total: { type: 'integer' }, users: { type: 'array', items: ref('User') } },
            }),
            ...common,
          },
        },
        get: {
          operationId: 'selectUsersGet',
          parameters: Object.entries(paging).map(([name, schema]) => ({ name, in: 'query', schema })),
          responses: {
            '200': envelope({
              type: 'object',
              properties: { total: { type: 'integer' }, users: { type: 'array', items: ref('User') } },
            }),
            ...common,
          },
        },
      },
      [api(KNOX_MANAGE_PATHS.authenticate)]: {
        post: {
          operationId: 'authenticate',
          requestBody: form(
            {
              userId: { type: 'string', maxLength: 50 },
              userPassword: { type: 'string', minLength: 8, maxLength: 30 },
            },
            ['userId', 'userPassword'],
          ),
          responses: { '200': envelope(ref('AuthenticatedUser')), ...common },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Token: {
          type: 'object',
          properties: {
            access_token: string,
            token_type: string,
            expires_in: { type: 'integer' },
            scope: string,
          },
        },
        OAuthError: { type: 'object', properties: { error: string, error_description: string } },
        Device: {
          type: 'object',
          properties: {
            deviceId: string,
            mobileId: string,
            imei: string,
            secondaryImei: string,
            serialNumber: string,
            userId: string,
            userName: string,
            email: string,
            phone: string,
            deviceStatus: { type: 'string', enum: Object.keys(KNOX_MANAGE_DEVICE_STATUSES) },
            deviceModel: string,
            deviceModelKind: string,
            platform: string,
            lastConnectionDate: {
              type: 'object',
              nullable: true,
              properties: { time: { type: 'integer', format: 'int64' } },
            },
            stdFormatLastConnectionDate: string,
            deviceTags: { type: 'array', items: { type: 'object', properties: { tagValue: string } } },
            isDeviceLock: string,
            orgName: string,
            orgCode: string,
          },
        },
        DeviceInfo: {
          allOf: [
            ref('Device'),
            {
              type: 'object',
              properties: {
                iccid: string,
                battery: string,
                wifiIpAddress: string,
                isRoaming: string,
                isContainMalware: string,
                isRooting: string,
                simStatus: string,
              },
            },
          ],
        },
        User: {
          type: 'object',
          properties: {
            userId: string,
            userName: string,
            email: string,
            userStatus: string,
            orgName: string,
            orgCode: string,
          },
        },
        AuthenticatedUser: {
          type: 'object',
          properties: { userId: string, userName: string, email: string },
        },
      },
    },
  };
}
