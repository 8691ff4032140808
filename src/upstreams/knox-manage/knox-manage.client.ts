import type { z } from 'zod';
import type {
  AuthenticationOutcome,
  FleetUser,
  ManagedDevice,
  ManagementStatus,
  Page,
} from '../../domain/fleet.js';
import type { ClientCredentialsTokenProvider } from '../auth/client-credentials.js';
import { UpstreamError } from '../errors.js';
import type { UpstreamHttp, UpstreamRequest } from '../upstream-http.js';
import { readWire } from '../wire-schema.js';
import { MANAGEMENT_STATUS_CODES, toFleetUser, toManagedDevice } from './knox-manage.mapper.js';
import {
  KNOX_MANAGE_API_PREFIX,
  KNOX_MANAGE_INPUT_CODES,
  KNOX_MANAGE_MAX_LIMIT,
  KNOX_MANAGE_NOT_FOUND_CODES,
  KNOX_MANAGE_PASSWORD_RULES,
  KNOX_MANAGE_PATHS,
  KNOX_MANAGE_SIGN_IN_REFUSED_CODES,
  KNOX_MANAGE_SUCCESS,
  KnoxManageAuthenticateResponse,
  KnoxManageDeviceDetailResponse,
  KnoxManageDeviceListResponse,
  KnoxManageEnvelopeHead,
  KnoxManageUnauthorized,
  KnoxManageUserResponse,
  KnoxManageUsersResponse,
} from './knox-manage.wire.js';

export interface DeviceListQuery {
  start?: number;
  limit?: number;
  userId?: string;
  status?: ManagementStatus;
}

export interface UserQuery {
  userId?: string;
  /** Read in one call (`extraCondition.userIds`, an SQL IN list). */
  userIds?: readonly string[];
}

type Envelope = z.output<typeof KnoxManageEnvelopeHead>;

/** The one message for a refused sign-in, whatever Knox Manage's code said (no user enumeration). */
const SIGN_IN_REFUSED = 'The user ID or password is incorrect.';

/** The first documented password rule `password` breaks, or null. */
function passwordProblem(password: string): string | null {
  const rules = KNOX_MANAGE_PASSWORD_RULES;
  if (password.length < rules.minLength || password.length > rules.maxLength)
    return `Passwords must be between ${rules.minLength} and ${rules.maxLength} characters.`;
  if (!rules.digit.test(password)) return 'Passwords must contain at least one number.';
  if (!rules.letter.test(password)) return 'Passwords must contain at least one letter.';
  if (!rules.special.test(password)) return 'Passwords must contain at least one special character.';
  return null;
}

/**
 * Knox Manage Open API as published: device reads are form-encoded POSTs, user reads GETs with query
 * parameters; envelopes unwrapped through the wire schemas; "not found" codes become null.
 */
export class KnoxManageClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly tokens: ClientCredentialsTokenProvider,
  ) {}

  async selectDeviceList(query: DeviceListQuery = {}): Promise<Page<ManagedDevice>> {
    const value = await this.read('POST', KNOX_MANAGE_PATHS.selectDeviceList, KnoxManageDeviceListResponse, {
      start: query.start ?? 0,
      limit: query.limit ?? KNOX_MANAGE_MAX_LIMIT,
      userId: query.userId,
      deviceStatus: query.status ? MANAGEMENT_STATUS_CODES[query.status] : undefined,
    });
    // "If there is no result, this value is empty" (spec): no value is an empty page.
    return { items: value?.devices.map(toManagedDevice) ?? [], total: value ? value.total : 0 };
  }

  async selectDeviceInfoByImei(imei: string): Promise<ManagedDevice | null> {
    const value = await this.read(
      'POST',
      KNOX_MANAGE_PATHS.selectDeviceInfoByImei,
      KnoxManageDeviceDetailResponse,
      {
        imei,
      },
    );
    return value ? toManagedDevice(value) : null;
  }

  async selectDeviceInfoBySerialNumber(serialNumber: string): Promise<ManagedDevice | null> {
    const value = await this.read(
      'POST',
      KNOX_MANAGE_PATHS.selectDeviceInfoBySerialNumber,
      KnoxManageDeviceDetailResponse,
      { serialNumber },
    );
    return value ? toManagedDevice(value) : null;
  }

  /** Every user matching the filters (the API does not page users); no filter reads them all. */
  async selectUsers(query: UserQuery = {}): Promise<Page<FleetUser>> {
    const params = new URLSearchParams();
    if (query.userId) params.set('userId', query.userId);
    for (const id of query.userIds ?? []) params.append('extraCondition.userIds', id);
    const value = await this.read('GET', KNOX_MANAGE_PATHS.selectUsers, KnoxManageUsersResponse, params);
    const users = value?.users;
    return { items: users?.user.map(toFleetUser) ?? [], total: users ? users.total : 0 };
  }

  /** Null when Knox Manage does not know the user. */
  async selectUserWithId(userId: string): Promise<FleetUser | null> {
    const value = await this.read(
      'GET',
      KNOX_MANAGE_PATHS.selectUserWithID,
      KnoxManageUserResponse,
      new URLSearchParams({ userId }),
    );
    return value?.user ? toFleetUser(value.user) : null;
  }

  /** The password goes to Knox Manage and nowhere else: not logged, not cached, not kept. */
  async authenticate(userId: string, password: string): Promise<AuthenticationOutcome> {
    const problem = passwordProblem(password);
    // A password that breaks the documented rules cannot sign in: say why, without a call.
    if (problem) return { kind: 'INVALID_INPUT', code: null, message: problem };
    const path = KNOX_MANAGE_PATHS.authenticate;
    // Never retried: a repeated sign-in could count twice towards a lock-out.
    const { envelope, endpoint } = await this.envelope(
      'POST',
      path,
      { userId, userPassword: password },
      false,
    );
    if (envelope.resultCode === KNOX_MANAGE_SUCCESS) {
      const value = readWire(KnoxManageAuthenticateResponse, envelope, {
        upstream: 'KNOX_MANAGE',
        endpoint,
      }).resultValue;
      return {
        kind: 'AUTHENTICATED',
        user: { userId: value?.userId ?? userId, name: null, email: null, active: true, organization: null },
      };
    }
    if (KNOX_MANAGE_SIGN_IN_REFUSED_CODES.includes(envelope.resultCode))
      return { kind: 'REJECTED', code: envelope.resultCode, message: SIGN_IN_REFUSED };
    if (KNOX_MANAGE_INPUT_CODES.includes(envelope.resultCode))
      return { kind: 'INVALID_INPUT', code: envelope.resultCode, message: envelope.resultMessage ?? '' };
    throw this.envelopeError(endpoint, envelope);
  }

  /**
   * A read: the envelope first (an error answer is never judged by the success schema), then, on
   * success, the whole answer through the endpoint's schema. Not-found codes read as null.
   */
  private async read<S extends z.ZodType<{ resultValue: unknown }>>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    input: Record<string, string | number | undefined> | URLSearchParams,
  ): Promise<z.output<S>['resultValue'] | null> {
    const { envelope, endpoint } = await this.envelope(method, path, input, true);
    if (envelope.resultCode === KNOX_MANAGE_SUCCESS)
      return readWire(schema, envelope, { upstream: 'KNOX_MANAGE', endpoint, status: 200 }).resultValue;
    if (KNOX_MANAGE_NOT_FOUND_CODES.includes(envelope.resultCode)) return null;
    throw this.envelopeError(endpoint, envelope);
  }

  private async envelope(
    method: 'GET' | 'POST',
    path: string,
    input: Record<string, string | number | undefined> | URLSearchParams,
    idempotent: boolean,
  ): Promise<{ envelope: Envelope; endpoint: string }> {
    const request: UpstreamRequest = {
      method,
      path: KNOX_MANAGE_API_PREFIX + path,
      ...(input instanceof URLSearchParams ? { query: input } : { form: input }),
      idempotent,
    };
    const endpoint = this.http.endpoint(request);
    const response = await this.tokens.authorized((token) =>
      this.http.send({ ...request, headers: { authorization: `Bearer ${token}` } }),
    );
    if (response.status !== 200) {
      const detail = this.http.readErrorBody(response, KnoxManageUnauthorized);
      throw this.http.statusError(response, endpoint, {
        code: detail?.error ?? undefined,
        message: detail?.error_description ?? undefined,
      });
    }
    return { envelope: this.http.readJson(response, KnoxManageEnvelopeHead, endpoint), endpoint };
  }

  private envelopeError(endpoint: string, envelope: Envelope): UpstreamError {
    return new UpstreamError(
      'UPSTREAM_ERROR',
      `Knox Manage answered resultCode ${envelope.resultCode} (${envelope.resultMessage ?? 'no message'}) on ${endpoint}`,
      { upstream: 'KNOX_MANAGE', endpoint, status: 200, upstreamCode: envelope.resultCode },
    );
  }
}
