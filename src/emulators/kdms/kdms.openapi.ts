import {
  KDMS_API_PREFIX,
  KDMS_DEFAULT_PAGE_SIZE,
  KDMS_ERROR_CODES,
  KDMS_MAX_DEVICES_PER_OPERATION,
  KDMS_MAX_IDS_PER_GET,
  KDMS_MAX_PAGE_SIZE,
  KDMS_PATHS,
  KDMS_SCOPES,
  KDMS_TOKEN_PATH,
  KWN_CERTIFICATE_PATH,
  KWN_EVENTS,
  KWN_SUBSCRIPTIONS_PATH,
} from '../../upstreams/kdms/kdms.wire.js';

/** OpenAPI 3.0 description of what the KDMS emulator speaks (served at `GET /openapi.json`). */
export function kdmsOpenApi(): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: unknown) => ({ 'application/json': { schema } });
  const error = (description: string) => ({ description, content: json(ref('Error')) });
  const secured = (...scopes: string[]) => [{ knoxOAuth: scopes }];
  const errors = {
    '400': error('Custom KDMS error code (INVALID_PARAM, …)'),
    '401': error('Missing, invalid or expired access token'),
    '403': error('The token lacks the required scope'),
  };
  const nullableString = { type: 'string', nullable: true };
  return {
    openapi: '3.0.3',
    info: {
      title: 'Knox Device Management Service (Fleetgraph emulator)',
      version: '1.0.0',
      description:
        'KDMS, Knox cloud OAuth 2.0 and Knox Webhook Notification as the Fleetgraph emulator speaks them. Field names marked ASSUMED in kdms.wire.ts are not published by Samsung.',
    },
    servers: [{ url: '/' }],
    paths: {
      [KDMS_TOKEN_PATH]: {
        post: {
          operationId: 'createAccessToken',
          summary: 'OAuth 2.0 client-credentials token',
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['grant_type', 'client_id', 'client_secret'],
                  properties: {
                    grant_type: { type: 'string', enum: ['client_credentials'] },
                    client_id: { type: 'string' },
                    client_secret: { type: 'string' },
                    scope: { type: 'string', description: 'Space-separated scopes' },
                    expires_in: { type: 'integer', minimum: 1, maximum: 3600 },
                  },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Token', content: json(ref('Token')) },
            '400': {
              description: 'invalid_request, invalid_scope or unsupported_grant_type',
              content: json(ref('OAuthError')),
            },
            '401': { description: 'invalid_client', content: json(ref('OAuthError')) },
          },
        },
      },
      [KDMS_API_PREFIX + KDMS_PATHS.upload]: {
        post: {
          operationId: 'uploadDevices',
          summary: 'Upload devices by IMEI or serial number (asynchronous; KDMS_DEVICE_UPLOAD webhook)',
          security: secured(KDMS_SCOPES.all, KDMS_SCOPES.upload),
          requestBody: { required: true, content: json(ref('DeviceOperation')) },
          responses: {
            '202': { description: 'Accepted', content: json(ref('OperationAccepted')) },
            ...errors,
          },
        },
      },
      [KDMS_API_PREFIX + KDMS_PATHS.delete]: {
        post: {
          operationId: 'deleteDevices',
          summary: 'Delete devices (asynchronous; KDMS_DEVICE_DELETE webhook)',
          security: secured(KDMS_SCOPES.all, KDMS_SCOPES.delete, KDMS_SCOPES.kaiDelete),
          requestBody: { required: true, content: json(ref('DeviceOperation')) },
          responses: {
            '202': { description: 'Accepted', content: json(ref('OperationAccepted')) },
            ...errors,
          },
        },
      },
      [KDMS_API_PREFIX + KDMS_PATHS.getDevices]: {
        post: {
          operationId: 'getDevices',
          summary: 'Devices, filtered by upload id and identifiers, paged with searchAfter',
          security: secured(KDMS_SCOPES.all, KDMS_SCOPES.read),
          requestBody: {
            required: false,
            content: json({
              type: 'object',
              properties: {
                uploadId: { type: 'string' },
                deviceIds: { type: 'array', maxItems: KDMS_MAX_IDS_PER_GET, items: { type: 'string' } },
                searchAfter: {
                  type: 'string',
                  description: 'deviceId of the last device of the previous page',
                },
                pageSize: {
                  type: 'integer',
                  minimum: 1,
                  maximum: KDMS_MAX_PAGE_SIZE,
                  default: KDMS_DEFAULT_PAGE_SIZE,
                },
              },
            }),
          },
          responses: {
            '200': { description: 'A page of devices', content: json(ref('DevicePage')) },
            ...errors,
          },
        },
      },
      [KWN_SUBSCRIPTIONS_PATH]: {
        get: {
          operationId: 'listSubscriptions',
          security: secured(KDMS_SCOPES.all),
          responses: {
            '200': { description: 'Subscriptions', content: json(ref('KwnSubscriptionList')) },
            ...errors,
          },
        },
        post: {
          operationId: 'createSubscription',
          security: secured(KDMS_SCOPES.all),
          requestBody: { required: true, content: json(ref('KwnSubscriptionInput')) },
          responses: { '201': { description: 'Created', content: json(ref('KwnSubscription')) }, ...errors },
        },
      },
      [`${KWN_SUBSCRIPTIONS_PATH}/{subscriptionId}`]: {
        parameters: [{ name: 'subscriptionId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getSubscription',
          security: secured(KDMS_SCOPES.all),
          responses: {
            '200': { description: 'Subscription', content: json(ref('KwnSubscription')) },
            '404': error('Unknown subscription'),
          },
        },
        put: {
          operationId: 'updateSubscription',
          security: secured(KDMS_SCOPES.all),
          requestBody: { required: true, content: json(ref('KwnSubscriptionInput')) },
          responses: {
            '200': { description: 'Updated', content: json(ref('KwnSubscription')) },
            '404': error('Unknown subscription'),
            ...errors,
          },
        },
        delete: {
          operationId: 'deleteSubscription',
          security: secured(KDMS_SCOPES.all),
          responses: { '204': { description: 'Deleted' }, '404': error('Unknown subscription') },
        },
      },
      [KWN_CERTIFICATE_PATH]: {
        get: {
          operationId: 'downloadCertificate',
          summary: 'The X.509 certificate (PEM) whose key signs x-wsm-signature',
          responses: {
            '200': {
              description: 'PEM certificate',
              content: { 'application/x-pem-file': { schema: { type: 'string' } } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        knoxOAuth: {
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: KDMS_TOKEN_PATH,
              scopes: {
                [KDMS_SCOPES.all]: 'All Knox Device Management Service functionality',
                [KDMS_SCOPES.upload]: 'Upload devices',
                [KDMS_SCOPES.delete]: 'Delete devices',
                [KDMS_SCOPES.read]: 'Get devices',
                [KDMS_SCOPES.kaiDelete]: 'Delete devices from Knox Asset Intelligence',
              },
            },
          },
        },
      },
      schemas: {
        Token: {
          type: 'object',
          required: ['access_token', 'scope', 'expires_in', 'token_type'],
          properties: {
            access_token: { type: 'string' },
            scope: { type: 'string' },
            expires_in: { type: 'integer' },
            token_type: { type: 'string' },
          },
        },
        OAuthError: {
          type: 'object',
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
        },
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', enum: Object.keys(KDMS_ERROR_CODES) },
            message: { type: 'string' },
            details: { type: 'array', items: { type: 'string' } },
          },
        },
        DeviceOperation: {
          type: 'object',
          required: ['deviceIds', 'targetServices'],
          properties: {
            deviceIds: {
              type: 'array',
              minItems: 1,
              maxItems: KDMS_MAX_DEVICES_PER_OPERATION,
              items: { type: 'string' },
            },
            targetServices: { type: 'array', minItems: 1, items: { type: 'string', enum: ['KAI'] } },
          },
        },
        OperationAccepted: {
          type: 'object',
          required: ['uploadId', 'status', 'deviceCount'],
          properties: {
            uploadId: { type: 'string' },
            status: { type: 'string', enum: ['IN_PROGRESS'] },
            deviceCount: { type: 'integer' },
          },
        },
        Device: {
          type: 'object',
          required: ['deviceId', 'customerId', 'uploadId', 'targetServices', 'uploadedAt'],
          properties: {
            deviceId: { type: 'string' },
            customerId: { type: 'string' },
            imei: nullableString,
            secondaryImei: nullableString,
            serialNumber: nullableString,
            meid: nullableString,
            modelName: nullableString,
            uploadId: { type: 'string' },
            targetServices: { type: 'array', items: { type: 'string' } },
            uploadedAt: { type: 'string', format: 'date-time' },
          },
        },
        DevicePage: {
          type: 'object',
          required: ['devices', 'totalCount', 'nextSearchAfter'],
          properties: {
            devices: { type: 'array', items: ref('Device') },
            totalCount: { type: 'integer' },
            nextSearchAfter: nullableString,
          },
        },
        KwnSubscriptionInput: {
          type: 'object',
          required: ['callbackUrl', 'events'],
          properties: {
            callbackUrl: { type: 'string', format: 'uri' },
            events: {
              type: 'array',
              minItems: 1,
              items: { type: 'string', enum: Object.values(KWN_EVENTS) },
            },
            description: { type: 'string' },
          },
        },
        KwnSubscription: {
          type: 'object',
          required: ['subscriptionId', 'callbackUrl', 'events', 'status', 'createdAt', 'updatedAt'],
          properties: {
            subscriptionId: { type: 'string' },
            callbackUrl: { type: 'string' },
            events: { type: 'array', items: { type: 'string' } },
            description: nullableString,
            status: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
        KwnSubscriptionList: {
          type: 'object',
          properties: { subscriptions: { type: 'array', items: ref('KwnSubscription') } },
        },
      },
    },
  };
}
