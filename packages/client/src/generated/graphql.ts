/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Changes to a device in Box; absent fields stay as they are. */
export type DeviceAccessInput = {
  /** Block (true) or allow (false) the device logging in. */
  loginBlocked?: boolean | null | undefined;
  /** The device's new friendly name in Box (BoxDevice.name); must not be empty. */
  name?: string | null | undefined;
  /** Purge apps' data the next time the device authenticates. */
  purgeAppDataOnNextLogin?: boolean | null | undefined;
};

/** Devices to upload to or delete from KDMS, by IMEI and/or serial number. */
export type DeviceBatchInput = {
  /** Your key for this batch (1 to 200 printable characters, e.g. a UUID). Sending the same batch again with the same key returns the job the first call made and sends nothing to KDMS, even when the first answer never reached you; the same key with another batch is refused. Keys are per caller. */
  idempotencyKey?: string | null | undefined;
  /** IMEIs: 15 digits with a valid Luhn check digit. */
  imeis?: Array<string> | null | undefined;
  /** Serial numbers: 8 to 20 upper-case letters and digits. */
  serialNumbers?: Array<string> | null | undefined;
  /** The Knox services to register the devices for (upload) or remove them from (delete); at least one. KAI when left out. */
  targetServices?: Array<TargetService>;
};

/** Narrows a device listing. Without a filter, every device of every API is listed once. */
export type DeviceFilterInput = {
  /** Only devices Box blocks from logging in (true) or lets log in (false). Fleet index only. */
  loginBlocked?: boolean | null | undefined;
  /** Only Knox Manage devices in this status. */
  managementStatus?: ManagementStatus | null | undefined;
  /** Only this model number, e.g. SM-S921B. Fleet index only. */
  model?: string | null | undefined;
  /** Only Knox Manage devices not seen since this time: last connected (or, where its list gives no connection time, last updated) before it, or never. Fleet index only. */
  notSeenSince?: string | null | undefined;
  /** Only Knox Manage devices of this platform (ManagedDevice.platform). OTHER is refused (BAD_USER_INPUT): it stands for every code Knox Manage does not document, not one code. Fleet index only. */
  platform?: DevicePlatform | null | undefined;
  /** Text search: every word must start a word of the device's name, IMEI, serial number, model or owner (id, name, e-mail). Fleet index only. */
  search?: string | null | undefined;
  /** Only devices this API holds. */
  source?: Upstream | null | undefined;
  /** Only devices Knox Manage assigns to this user. */
  userId?: string | null | undefined;
};

/** Who owns a device and how it is enrolled, read from Knox Manage's ownership code (ManagedDevice.ownershipCode keeps the code itself). */
export type DeviceOwnership =
  /** Bring your own device: the employee's own device (Knox Manage code E). */
  | 'BYOD'
  /** Owned by the company, for work use (Knox Manage code C). */
  | 'COMPANY_OWNED'
  /** Corporate-owned, personally enabled (Knox Manage code EC). */
  | 'COPE'
  /** A code the Knox Manage API reference does not document (see ownershipCode). */
  | 'OTHER';

/** A device's operating system family, read from Knox Manage's platform code (ManagedDevice.platformCode keeps the code itself). */
export type DevicePlatform =
  /** Android (Knox Manage code A). */
  | 'ANDROID'
  /** iOS or iPadOS (Knox Manage code I). */
  | 'IOS'
  /** A code the Knox Manage API reference does not document (see platformCode). Not usable as a filter. */
  | 'OTHER'
  /** Windows (Knox Manage code W). */
  | 'WINDOWS';

/** A device's status in Knox Manage (its codes I, P, A, B, BS, BA, BL). */
export type ManagementStatus =
  /** A: activated and managed. */
  | 'ACTIVATED'
  /** B: blocked. */
  | 'BLOCKED'
  /** BA: blocked by an administrator. */
  | 'BLOCKED_BY_ADMIN'
  /** BS: blocked by the system. */
  | 'BLOCKED_BY_SYSTEM'
  /** I: deactivated. */
  | 'DEACTIVATED'
  /** BL: blocked because the license expired. */
  | 'LICENSE_EXPIRED'
  /** P: provisioned, not yet activated. */
  | 'PROVISIONED';

/** Knox services a device is registered for. */
export type TargetService =
  /** Knox Asset Intelligence. */
  | 'KAI';

/** What an upload job does to its devices in KDMS. */
export type UploadJobOperation =
  /** Removes the devices from KDMS (devices/delete). */
  | 'DELETE'
  /** Registers the devices with KDMS for the target services (devices/upload). */
  | 'UPLOAD';

/** How Fleetgraph learned the outcome. */
export type UploadJobSettlement =
  /** No callback came in time, so Fleetgraph read KDMS getDevices (reasons unknown). */
  | 'POLLING'
  /** KDMS's signed Knox Webhook Notification callback (carries KDMS's reason per device). */
  | 'WEBHOOK';

/** Where an upload or delete job is: UNCONFIRMED or PENDING while open, then COMPLETED, PARTIALLY_COMPLETED or FAILED once settled (a settled job never changes again). */
export type UploadJobStatus =
  /** Every device succeeded. */
  | 'COMPLETED'
  /** Every device failed. */
  | 'FAILED'
  /** Some devices failed; see failures. */
  | 'PARTIALLY_COMPLETED'
  /** KDMS accepted the job (202, uploadId known) and has not reported back yet. */
  | 'PENDING'
  /** Recorded and sent to KDMS, but KDMS's answer is not known: the call is in flight, or its answer timed out, was cut off or could not be read. KDMS may have taken it; its callback (matched by the devices) or a read of KDMS settles it. */
  | 'UNCONFIRMED';

/** An API Fleetgraph reads devices from. */
export type Upstream =
  /** Red Hat Mobile Application Platform admin API: device access, apps, device users. */
  | 'BOX'
  /** Samsung Knox Device Management Service: device registration (upload, delete). */
  | 'KDMS'
  /** Samsung Knox Manage: device management, users. */
  | 'KNOX_MANAGE';

/** The outcome of an API's health check. */
export type UpstreamStatus =
  /** The check call failed (unreachable, credentials refused, an error); message says why. */
  | 'DOWN'
  /** The check call succeeded: the API is reachable and accepts Fleetgraph credentials. */
  | 'UP';

export type UploadJobChangedSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type UploadJobChangedSubscription = { uploadJobChanged: { id: string, uploadId: string | null, idempotencyKey: string | null, operation: UploadJobOperation, status: UploadJobStatus, targetServices: Array<TargetService>, requested: number, succeeded: number | null, failed: number | null, duplicates: Array<string>, settledBy: UploadJobSettlement | null, submittedAt: string, completedAt: string | null, failures: Array<{ identifier: string, code: string, message: string }> } };

export type DeviceDetailFragment = { id: string, imei: string | null, secondaryImei: string | null, serialNumber: string | null, meid: string | null, model: string | null, sources: Array<Upstream> | null, registration: { deviceId: string, customerId: string | null, uploadId: string | null, targetServices: Array<string>, uploadedAt: string | null } | null, management: { deviceId: string, mobileId: string | null, status: ManagementStatus | null, phoneNumber: string | null, modelName: string | null, platform: DevicePlatform | null, platformCode: string | null, ownership: DeviceOwnership | null, ownershipCode: string | null, lastConnectedAt: string | null, tags: Array<string>, organization: string | null, owner: { id: string, userId: string, name: string | null, email: string | null } | null } | null, access: { guid: string, cuid: string, name: string | null, loginBlocked: boolean | null, purgeAppDataOnNextLogin: boolean | null } | null, apps: Array<{ id: string, name: string | null, description: string | null }> | null, users: Array<{ userId: string, name: string | null, email: string | null }> | null };

export type DeviceDetailQueryVariables = Exact<{
  id?: string | number | null | undefined;
  imei?: string | null | undefined;
  serialNumber?: string | null | undefined;
}>;


export type DeviceDetailQuery = { device: { id: string, imei: string | null, secondaryImei: string | null, serialNumber: string | null, meid: string | null, model: string | null, sources: Array<Upstream> | null, registration: { deviceId: string, customerId: string | null, uploadId: string | null, targetServices: Array<string>, uploadedAt: string | null } | null, management: { deviceId: string, mobileId: string | null, status: ManagementStatus | null, phoneNumber: string | null, modelName: string | null, platform: DevicePlatform | null, platformCode: string | null, ownership: DeviceOwnership | null, ownershipCode: string | null, lastConnectedAt: string | null, tags: Array<string>, organization: string | null, owner: { id: string, userId: string, name: string | null, email: string | null } | null } | null, access: { guid: string, cuid: string, name: string | null, loginBlocked: boolean | null, purgeAppDataOnNextLogin: boolean | null } | null, apps: Array<{ id: string, name: string | null, description: string | null }> | null, users: Array<{ userId: string, name: string | null, email: string | null }> | null } | null };

export type UpdateDeviceAccessMutationVariables = Exact<{
  id: string | number;
  input: DeviceAccessInput;
}>;


export type UpdateDeviceAccessMutation = { updateDeviceAccess: { id: string, access: { name: string | null, loginBlocked: boolean | null, purgeAppDataOnNextLogin: boolean | null } | null } };

export type FleetPageQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  filter?: DeviceFilterInput | null | undefined;
}>;


export type FleetPageQuery = { devices: { edges: Array<{ cursor: string, node: { id: string, imei: string | null, serialNumber: string | null, model: string | null, management: { status: ManagementStatus | null } | null, access: { name: string | null, loginBlocked: boolean | null } | null, apps: Array<{ name: string | null }> | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null };

export type DeviceIdsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  filter?: DeviceFilterInput | null | undefined;
}>;


export type DeviceIdsQuery = { devices: { edges: Array<{ node: { id: string, imei: string | null, serialNumber: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null };

export type NodeQueryVariables = Exact<{
  id: string | number;
}>;


export type NodeQuery = { node:
    | { __typename: 'Device', imei: string | null, serialNumber: string | null, model: string | null, id: string, management: { platform: DevicePlatform | null, ownership: DeviceOwnership | null } | null }
    | { __typename: 'UploadJob', operation: UploadJobOperation, status: UploadJobStatus, requested: number, id: string }
    | { __typename: 'User', userId: string, name: string | null, email: string | null, id: string }
   | null };

export type UploadJobDetailFragment = { id: string, uploadId: string | null, idempotencyKey: string | null, operation: UploadJobOperation, status: UploadJobStatus, targetServices: Array<TargetService>, requested: number, succeeded: number | null, failed: number | null, duplicates: Array<string>, settledBy: UploadJobSettlement | null, submittedAt: string, completedAt: string | null, failures: Array<{ identifier: string, code: string, message: string }> };

export type UploadDevicesMutationVariables = Exact<{
  input: DeviceBatchInput;
}>;


export type UploadDevicesMutation = { uploadDevices: { id: string, uploadId: string | null, idempotencyKey: string | null, operation: UploadJobOperation, status: UploadJobStatus, targetServices: Array<TargetService>, requested: number, succeeded: number | null, failed: number | null, duplicates: Array<string>, settledBy: UploadJobSettlement | null, submittedAt: string, completedAt: string | null, failures: Array<{ identifier: string, code: string, message: string }> } };

export type DeleteDevicesMutationVariables = Exact<{
  input: DeviceBatchInput;
}>;


export type DeleteDevicesMutation = { deleteDevices: { id: string, uploadId: string | null, idempotencyKey: string | null, operation: UploadJobOperation, status: UploadJobStatus, targetServices: Array<TargetService>, requested: number, succeeded: number | null, failed: number | null, duplicates: Array<string>, settledBy: UploadJobSettlement | null, submittedAt: string, completedAt: string | null, failures: Array<{ identifier: string, code: string, message: string }> } };

export type UploadJobQueryVariables = Exact<{
  id: string | number;
  first?: number;
  after?: string | null | undefined;
}>;


export type UploadJobQuery = { uploadJob: { id: string, uploadId: string | null, idempotencyKey: string | null, operation: UploadJobOperation, status: UploadJobStatus, targetServices: Array<TargetService>, requested: number, succeeded: number | null, failed: number | null, duplicates: Array<string>, settledBy: UploadJobSettlement | null, submittedAt: string, completedAt: string | null, devices: { edges: Array<{ node: { id: string, imei: string | null, serialNumber: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null, failures: Array<{ identifier: string, code: string, message: string }> } | null };

export type UploadJobsQueryVariables = Exact<{
  status?: UploadJobStatus | null | undefined;
  first: number;
  after?: string | null | undefined;
}>;


export type UploadJobsQuery = { uploadJobs: { totalCount: number | null, edges: Array<{ node: { id: string, uploadId: string | null, idempotencyKey: string | null, operation: UploadJobOperation, status: UploadJobStatus, targetServices: Array<TargetService>, requested: number, succeeded: number | null, failed: number | null, duplicates: Array<string>, settledBy: UploadJobSettlement | null, submittedAt: string, completedAt: string | null, failures: Array<{ identifier: string, code: string, message: string }> } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null };

export type UserWithDevicesQueryVariables = Exact<{
  userId: string | number;
  first: number;
  after?: string | null | undefined;
}>;


export type UserWithDevicesQuery = { user: { id: string, userId: string, name: string | null, email: string | null, active: boolean | null, organization: string | null, devices: { edges: Array<{ node: { id: string, imei: string | null, serialNumber: string | null, management: { status: ManagementStatus | null } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null } | null };

export type UsersQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type UsersQuery = { users: { totalCount: number, edges: Array<{ cursor: string, node: { userId: string, name: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null };

export type AuthenticateUserMutationVariables = Exact<{
  userId: string | number;
  password: string;
}>;


export type AuthenticateUserMutation = { authenticateUser: { authenticated: boolean, message: string | null, user: { userId: string, email: string | null } | null } };

export type UpstreamHealthQueryVariables = Exact<{ [key: string]: never; }>;


export type UpstreamHealthQuery = { upstreams: Array<{ upstream: Upstream, status: UpstreamStatus, latencyMs: number, message: string | null }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const DeviceDetailFragmentDoc = new TypedDocumentString(`
    fragment DeviceDetail on Device {
  id
  imei
  secondaryImei
  serialNumber
  meid
  model
  sources
  registration {
    deviceId
    customerId
    uploadId
    targetServices
    uploadedAt
  }
  management {
    deviceId
    mobileId
    status
    phoneNumber
    modelName
    platform
    platformCode
    ownership
    ownershipCode
    lastConnectedAt
    tags
    organization
    owner {
      id
      userId
      name
      email
    }
  }
  access {
    guid
    cuid
    name
    loginBlocked
    purgeAppDataOnNextLogin
  }
  apps {
    id
    name
    description
  }
  users {
    userId
    name
    email
  }
}
    `, {"fragmentName":"DeviceDetail"}) as unknown as TypedDocumentString<DeviceDetailFragment, unknown>;
export const UploadJobDetailFragmentDoc = new TypedDocumentString(`
    fragment UploadJobDetail on UploadJob {
  id
  uploadId
  idempotencyKey
  operation
  status
  targetServices
  requested
  succeeded
  failed
  duplicates
  failures {
    identifier
    code
    message
  }
  settledBy
  submittedAt
  completedAt
}
    `, {"fragmentName":"UploadJobDetail"}) as unknown as TypedDocumentString<UploadJobDetailFragment, unknown>;
export const UploadJobChangedDocument = new TypedDocumentString(`
    subscription UploadJobChanged($id: ID!) {
  uploadJobChanged(id: $id) {
    ...UploadJobDetail
  }
}
    fragment UploadJobDetail on UploadJob {
  id
  uploadId
  idempotencyKey
  operation
  status
  targetServices
  requested
  succeeded
  failed
  duplicates
  failures {
    identifier
    code
    message
  }
  settledBy
  submittedAt
  completedAt
}`, {"hash":"sha256:37ff3b383c98952ac3c26a4730ab0b4615bd58fc98ad41038df1ff97f5f29ce3"}) as unknown as TypedDocumentString<UploadJobChangedSubscription, UploadJobChangedSubscriptionVariables>;
export const DeviceDetailDocument = new TypedDocumentString(`
    query DeviceDetail($id: ID, $imei: String, $serialNumber: String) {
  device(id: $id, imei: $imei, serialNumber: $serialNumber) {
    ...DeviceDetail
  }
}
    fragment DeviceDetail on Device {
  id
  imei
  secondaryImei
  serialNumber
  meid
  model
  sources
  registration {
    deviceId
    customerId
    uploadId
    targetServices
    uploadedAt
  }
  management {
    deviceId
    mobileId
    status
    phoneNumber
    modelName
    platform
    platformCode
    ownership
    ownershipCode
    lastConnectedAt
    tags
    organization
    owner {
      id
      userId
      name
      email
    }
  }
  access {
    guid
    cuid
    name
    loginBlocked
    purgeAppDataOnNextLogin
  }
  apps {
    id
    name
    description
  }
  users {
    userId
    name
    email
  }
}`, {"hash":"sha256:e7170b79e2ea82528a32c0e2c9c8f5fb722e288030412417290c7da80d71e6f8"}) as unknown as TypedDocumentString<DeviceDetailQuery, DeviceDetailQueryVariables>;
export const UpdateDeviceAccessDocument = new TypedDocumentString(`
    mutation UpdateDeviceAccess($id: ID!, $input: DeviceAccessInput!) {
  updateDeviceAccess(id: $id, input: $input) {
    id
    access {
      name
      loginBlocked
      purgeAppDataOnNextLogin
    }
  }
}
    `, {"hash":"sha256:ec6fe4e16f3366e32f2910b37f1b2d241978d4c5bf066b0ef32e46029da462e3"}) as unknown as TypedDocumentString<UpdateDeviceAccessMutation, UpdateDeviceAccessMutationVariables>;
export const FleetPageDocument = new TypedDocumentString(`
    query FleetPage($first: Int!, $after: String, $filter: DeviceFilterInput) {
  devices(first: $first, after: $after, filter: $filter) {
    edges {
      cursor
      node {
        id
        imei
        serialNumber
        model
        management {
          status
        }
        access {
          name
          loginBlocked
        }
        apps {
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `, {"hash":"sha256:ccee78ee1dc063f410c08ef5481999250bea75cd53486574789f92dc62ad1dea"}) as unknown as TypedDocumentString<FleetPageQuery, FleetPageQueryVariables>;
export const DeviceIdsDocument = new TypedDocumentString(`
    query DeviceIds($first: Int!, $after: String, $filter: DeviceFilterInput) {
  devices(first: $first, after: $after, filter: $filter) {
    edges {
      node {
        id
        imei
        serialNumber
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `, {"hash":"sha256:ebbcee8970e4fea301f697e63e9eb789df98430aaab1df975f6c4ca0fc7e8a65"}) as unknown as TypedDocumentString<DeviceIdsQuery, DeviceIdsQueryVariables>;
export const NodeDocument = new TypedDocumentString(`
    query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Device {
      imei
      serialNumber
      model
      management {
        platform
        ownership
      }
    }
    ... on User {
      userId
      name
      email
    }
    ... on UploadJob {
      operation
      status
      requested
    }
  }
}
    `, {"hash":"sha256:aaafb2f7f89a87e39af59ccb29b0ffa9300689477a8b4b4841f0f3951d1eb6f6"}) as unknown as TypedDocumentString<NodeQuery, NodeQueryVariables>;
export const UploadDevicesDocument = new TypedDocumentString(`
    mutation UploadDevices($input: DeviceBatchInput!) {
  uploadDevices(input: $input) {
    ...UploadJobDetail
  }
}
    fragment UploadJobDetail on UploadJob {
  id
  uploadId
  idempotencyKey
  operation
  status
  targetServices
  requested
  succeeded
  failed
  duplicates
  failures {
    identifier
    code
    message
  }
  settledBy
  submittedAt
  completedAt
}`, {"hash":"sha256:263f0c4852e18a5b5e04cfa6b0c990ef04f045f6e139f427485514cbe808d632"}) as unknown as TypedDocumentString<UploadDevicesMutation, UploadDevicesMutationVariables>;
export const DeleteDevicesDocument = new TypedDocumentString(`
    mutation DeleteDevices($input: DeviceBatchInput!) {
  deleteDevices(input: $input) {
    ...UploadJobDetail
  }
}
    fragment UploadJobDetail on UploadJob {
  id
  uploadId
  idempotencyKey
  operation
  status
  targetServices
  requested
  succeeded
  failed
  duplicates
  failures {
    identifier
    code
    message
  }
  settledBy
  submittedAt
  completedAt
}`, {"hash":"sha256:584c5df8cb51989e6332faebee661c0ab50bd996177b9fd303c329ae6d87b69c"}) as unknown as TypedDocumentString<DeleteDevicesMutation, DeleteDevicesMutationVariables>;
export const UploadJobDocument = new TypedDocumentString(`
    query UploadJob($id: ID!, $first: Int! = 50, $after: String) {
  uploadJob(id: $id) {
    ...UploadJobDetail
    devices(first: $first, after: $after) {
      edges {
        node {
          id
          imei
          serialNumber
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}
    fragment UploadJobDetail on UploadJob {
  id
  uploadId
  idempotencyKey
  operation
  status
  targetServices
  requested
  succeeded
  failed
  duplicates
  failures {
    identifier
    code
    message
  }
  settledBy
  submittedAt
  completedAt
}`, {"hash":"sha256:e149918abd19300dc94c0205e8038eb5a297e339f62905fd6a6327c5c5df2c1d"}) as unknown as TypedDocumentString<UploadJobQuery, UploadJobQueryVariables>;
export const UploadJobsDocument = new TypedDocumentString(`
    query UploadJobs($status: UploadJobStatus, $first: Int!, $after: String) {
  uploadJobs(status: $status, first: $first, after: $after) {
    totalCount
    edges {
      node {
        ...UploadJobDetail
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment UploadJobDetail on UploadJob {
  id
  uploadId
  idempotencyKey
  operation
  status
  targetServices
  requested
  succeeded
  failed
  duplicates
  failures {
    identifier
    code
    message
  }
  settledBy
  submittedAt
  completedAt
}`, {"hash":"sha256:c9e493b253db03b2076f3aeb109f452bb6f092a3df5f96efdc67fda0046d0238"}) as unknown as TypedDocumentString<UploadJobsQuery, UploadJobsQueryVariables>;
export const UserWithDevicesDocument = new TypedDocumentString(`
    query UserWithDevices($userId: ID!, $first: Int!, $after: String) {
  user(userId: $userId) {
    id
    userId
    name
    email
    active
    organization
    devices(first: $first, after: $after) {
      edges {
        node {
          id
          imei
          serialNumber
          management {
            status
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}
    `, {"hash":"sha256:dc0de9f8989506e82b9e384c1aae5509f3f7ea5da352184e272c508965749e38"}) as unknown as TypedDocumentString<UserWithDevicesQuery, UserWithDevicesQueryVariables>;
export const UsersDocument = new TypedDocumentString(`
    query Users($first: Int!, $after: String) {
  users(first: $first, after: $after) {
    totalCount
    edges {
      cursor
      node {
        userId
        name
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `, {"hash":"sha256:444e063681767886c9a6984688e14418901f7ddf327ea7c4f744f0a319aa445d"}) as unknown as TypedDocumentString<UsersQuery, UsersQueryVariables>;
export const AuthenticateUserDocument = new TypedDocumentString(`
    mutation AuthenticateUser($userId: ID!, $password: String!) {
  authenticateUser(userId: $userId, password: $password) {
    authenticated
    message
    user {
      userId
      email
    }
  }
}
    `, {"hash":"sha256:359230be05de048c0dac555e95950796a7e7a84ee219deb5fd7401ef9c43ca89"}) as unknown as TypedDocumentString<AuthenticateUserMutation, AuthenticateUserMutationVariables>;
export const UpstreamHealthDocument = new TypedDocumentString(`
    query UpstreamHealth {
  upstreams {
    upstream
    status
    latencyMs
    message
  }
}
    `, {"hash":"sha256:ad402597fe5ed32c8ec9a94ea67c47268cc97dcd7189307b6887bfa6162fb04b"}) as unknown as TypedDocumentString<UpstreamHealthQuery, UpstreamHealthQueryVariables>;