import type {
  AuthenticationOutcome,
  ManagedDevice,
  ManagementStatus,
  Page,
  FleetUser,
} from '../../domain/fleet.js';
import type { ClientCredentialsTokenProvider } from '../auth/client-credentials.js';
import { UpstreamError } from '../errors.js';
import type { UpstreamHttp } from '../upstream-http.js';
import { MANAGEMENT_STATUS_CODES, toFleetUser, toManagedDevice } from './knox-manage.mapper.js';
import {
  KNOX_MANAGE_API_PREFIX,
  KNOX_MANAGE_MAX_LIMIT,
  KNOX_MANAGE_PATHS,
  KNOX_MANAGE_SUCCESS,
} from './knox-manage.wire.js';
import type {
  KnoxManageAuthenticationValue,
  KnoxManageDevice,
  KnoxManageDeviceListValue,
  KnoxManageEnvelope,
  KnoxManageUserListValue,
} from './knox-manage.wire.js';

/** Result codes that mean "no such record" rather than failure. */
const DEVICE_NOT_FOUND = '-201';
const USER_NOT_FOUND = '-202';
const SIGN_IN_REJECTED = '-203';
/** Validation codes -102 … -112: the caller's input broke a documented rule. */
const VALIDATION_CODES = /^-1(0[2-9]|1[0-2])$/;

export interface DeviceListQuery {
  start?: number;
  limit?: number;
  userId?: string;
  status?: ManagementStatus;
}

/** Knox Manage Open API: form-encoded POSTs, envelopes unwrapped, "not found" codes turned into null. */
export class KnoxManageClient {
  constructor(
    private readonly http: UpstreamHttp,
    private readonly tokens: ClientCredentialsTokenProvider,
  ) {}

  async selectDeviceList(query: DeviceListQuery = {}): Promise<Page<ManagedDevice>> {
    const value = await this.value<KnoxManageDeviceListValue>(KNOX_MANAGE_PATHS.selectDeviceList, {
      start: query.start ?? 0,
      limit: query.limit ?? KNOX_MANAGE_MAX_LIMIT,
      userId: query.userId,
      deviceStatus: query.status ? MANAGEMENT_STATUS_CODES[query.status] : undefined,
    });
    return { items: value.deviceList.map(toManagedDevice), total: value.total };
  }

  async selectDeviceInfoByImei(imei: string): Promise<ManagedDevice | null> {
    const value = await this.value<KnoxManageDevice>(KNOX_MANAGE_PATHS.selectDeviceInfoByImei, { imei }, [
      DEVICE_NOT_FOUND,
    ]);
    return value ? toManagedDevice(value) : null;
  }

  async selectDeviceInfoBySerialNumber(serialNumber: string): Promise<ManagedDevice | null> {
    const value = await this.value<KnoxManageDevice>(
      KNOX_MANAGE_PATHS.selectDeviceInfoBySerialNumber,
      { serialNumber },
      [DEVICE_NOT_FOUND],
    );
    return value ? toManagedDevice(value) : null;
  }

  /** Null when Knox Manage does not know the user. */
  async selectDevicesByUser(userId: string): Promise<ManagedDevice[] | null> {
    const value = await this.value<KnoxManageDevice[]>(KNOX_MANAGE_PATHS.selectDevicesByUser, { userId }, [
      USER_NOT_FOUND,
    ]);
    return value ? value.map(toManagedDevice) : null;
  }

  async selectUsers(start = 0, limit = KNOX_MANAGE_MAX_LIMIT): Promise<Page<FleetUser>> {
    const value = await this.value<KnoxManageUserListValue>(KNOX_MANAGE_PATHS.selectUsers, { start, limit });
    return { items: value.users.map(toFleetUser), total: value.total };
  }

  /** The password goes to Knox Manage and nowhere else: not logged, not cached, not kept. */
  async authenticate(userId: string, password: string): Promise<AuthenticationOutcome> {
    const envelope = await this.envelope<KnoxManageAuthenticationValue>(KNOX_MANAGE_PATHS.authenticate, {
      userId,
      userPassword: password,
    });
    if (envelope.resultCode === KNOX_MANAGE_SUCCESS && envelope.resultValue) {
      const v = envelope.resultValue;
      return {
        kind: 'AUTHENTICATED',
        user: {
          userId: v.userId,
          name: v.userName || null,
          email: v.email || null,
          active: true,
          organization: null,
        },
      };
    }
    if (envelope.resultCode === SIGN_IN_REJECTED || envelope.resultCode === USER_NOT_FOUND) {
      return { kind: 'REJECTED', code: envelope.resultCode, message: envelope.resultMessage };
    }
    if (VALIDATION_CODES.test(envelope.resultCode))
      return { kind: 'INVALID_INPUT', code: envelope.resultCode, message: envelope.resultMessage };
    throw this.envelopeError(KNOX_MANAGE_PATHS.authenticate, envelope);
  }

  private async value<T>(path: string, form: Record<string, string | number | undefined>): Promise<T>;
  private async value<T>(
    path: string,
    form: Record<string, string | number | undefined>,
    notFound: string[],
  ): Promise<T | null>;
  private async value<T>(
    path: string,
    form: Record<string, string | number | undefined>,
    notFound: string[] = [],
  ): Promise<T | null> {
    // Everything but authenticate is a read, safe to retry.
    const envelope = await this.envelope<T>(path, form, true);
    if (envelope.resultCode === KNOX_MANAGE_SUCCESS) {
      if (envelope.resultValue === null || envelope.resultValue === undefined)
        throw this.envelopeError(path, envelope);
      return envelope.resultValue;
    }
    if (notFound.includes(envelope.resultCode)) return null;
    throw this.envelopeError(path, envelope);
  }

  private async envelope<T>(
    path: string,
    form: Record<string, string | number | undefined>,
    idempotent = false,
  ): Promise<KnoxManageEnvelope<T>> {
    const request = { method: 'POST' as const, path: KNOX_MANAGE_API_PREFIX + path, form, idempotent };
    const endpoint = this.http.endpoint(request);
    const response = await this.tokens.authorized((token) =>
      this.http.send({ ...request, headers: { authorization: `Bearer ${token}` } }),
    );
    if (response.status !== 200) {
      let detail: { error?: string; error_description?: string } = {};
      try {
        detail = JSON.parse(response.body) as typeof detail;
      } catch {
        // the status alone explains it
      }
      throw this.http.statusError(response, endpoint, {
        code: detail.error,
        message: detail.error_description,
      });
    }
    const envelope = this.http.parseJson<KnoxManageEnvelope<T>>(response, endpoint);
    if (typeof envelope?.resultCode !== 'string') {
      throw new UpstreamError('UPSTREAM_ERROR', `Knox Manage answered without a resultCode on ${endpoint}`, {
        upstream: 'KNOX_MANAGE',
        endpoint,
        status: 200,
      });
    }
    return envelope;
  }

  private envelopeError(path: string, envelope: KnoxManageEnvelope<unknown>): UpstreamError {
    const endpoint = `POST ${KNOX_MANAGE_API_PREFIX}${path}`;
    return new UpstreamError(
      'UPSTREAM_ERROR',
      `Knox Manage answered resultCode ${envelope.resultCode} (${envelope.resultMessage}) on ${endpoint}`,
      {
        upstream: 'KNOX_MANAGE',
        endpoint,
        status: 200,
        upstreamCode: envelope.resultCode,
      },
    );
  }
}
