import type { SeededFleet } from '../src/emulators/fleet/seeded-fleet.js';

/**
 * The four fixed workloads, as each system is asked them. Every operation returns a check of its
 * answer, so each response is validated (not just its status).
 */
export type WorkloadName = 'W1' | 'W2' | 'W3' | 'W4';
export type SystemName = 'fleetgraph' | 'naive' | 'direct' | 'mesh';

export const WORKLOADS: Record<WorkloadName, string> = {
  W1: 'one device by IMEI, fields from all three APIs',
  W2: 'fleet page: devices(first: 100) with management, access, apps',
  W3: '_entities with 100 Device representations',
  W4: 'a user -> devices -> apps',
};

export interface WorkloadInputs {
  imei: string;
  entityImeis: string[];
  userId: string;
  userDeviceCount: number;
}

/** Picks inputs from the seeded fleet: a device in all three APIs, 100 IMEIs, the user with most devices. */
export function workloadInputs(fleet: SeededFleet): WorkloadInputs {
  const device = fleet.devices.find((d) => d.imei && d.kdms && d.knoxManage && d.box)!;
  const owners = new Map<string, number>();
  for (const d of fleet.devices)
    if (d.knoxManage) owners.set(d.knoxManage.ownerUserId, (owners.get(d.knoxManage.ownerUserId) ?? 0) + 1);
  const [userId, count] = [...owners.entries()].sort((a, b) => b[1] - a[1])[0]!;
  return {
    imei: device.imei!,
    entityImeis: fleet.devices
      .filter((d) => d.imei)
      .slice(0, 100)
      .map((d) => d.imei!),
    userId,
    userDeviceCount: Math.min(20, count),
  };
}

type Json = Record<string, unknown>;
/** One operation; `signal` aborts it when the measured window is over (the benchmark stops waiting). */
export type Operation = (signal?: AbortSignal) => Promise<{ ok: boolean; bytes: number }>;

async function postJson(
  url: string,
  body: unknown,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json; bytes: number }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as Json, bytes: text.length };
}

async function getJson(
  url: string,
  signal?: AbortSignal,
): Promise<{ status: number; json: Json; bytes: number }> {
  const response = await fetch(url, { signal });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as Json, bytes: text.length };
}

const GRAPHQL = {
  W1: 'query W1($imei: String) { device(imei: $imei) { imei model registration { deviceId } management { status } access { name loginBlocked } } }',
  W2: '{ devices(first: 100) { edges { node { imei serialNumber model management { status } access { name loginBlocked } apps { name } } } } }',
  W3: 'query W3($r: [_Any!]!) { _entities(representations: $r) { ... on Device { imei registration { deviceId } management { status } access { name } } } }',
  W4: 'query W4($userId: ID!) { user(userId: $userId) { userId devices(first: 20) { edges { node { imei apps { name } } } } } }',
};

const edgesOf = (v: unknown): unknown[] => ((v as { edges?: unknown[] } | null)?.edges ?? []) as unknown[];

/** Checks that an answer (GraphQL `data` or the direct service's) has the expected shape and size. */
function check(workload: WorkloadName, data: Json | undefined, inputs: WorkloadInputs): boolean {
  if (!data) return false;
  switch (workload) {
    case 'W1': {
      const d = data.device as Json | null;
      return Boolean(d && d.registration && d.management && d.access);
    }
    case 'W2':
      return edgesOf(data.devices).length === 100;
    case 'W3':
      return Array.isArray(data._entities) && data._entities.length === 100;
    case 'W4':
      return edgesOf((data.user as Json | null)?.devices).length === inputs.userDeviceCount;
  }
}

/** `headers`: e.g. the caller's bearer token, for a server that runs as in production. */
export function graphqlOperation(
  url: string,
  workload: WorkloadName,
  inputs: WorkloadInputs,
  headers: Record<string, string> = {},
): Operation {
  const variables = {
    W1: { imei: inputs.imei },
    W2: {},
    W3: { r: inputs.entityImeis.map((imei) => ({ __typename: 'Device', imei })) },
    W4: { userId: inputs.userId },
  }[workload];
  return async (signal) => {
    const { status, json, bytes } = await postJson(
      url,
      { query: GRAPHQL[workload], variables },
      signal,
      headers,
    );
    return { ok: status === 200 && !json.errors && check(workload, json.data as Json, inputs), bytes };
  };
}

export function directOperation(url: string, workload: WorkloadName, inputs: WorkloadInputs): Operation {
  return async (signal) => {
    const answer =
      workload === 'W1'
        ? await getJson(`${url}/w1?imei=${inputs.imei}`, signal)
        : workload === 'W2'
          ? await getJson(`${url}/w2`, signal)
          : workload === 'W3'
            ? await postJson(`${url}/w3`, { imeis: inputs.entityImeis }, signal)
            : await getJson(`${url}/w4?userId=${encodeURIComponent(inputs.userId)}`, signal);
    return {
      ok: answer.status === 200 && check(workload, answer.json.data as Json, inputs),
      bytes: answer.bytes,
    };
  };
}

/**
 * GraphQL Mesh exposes each API's operations as they are (POSTs become mutations) and joins nothing
 * without hand-written glue, so its client asks for each API's part in one request and, where the
 * data must be chained (apps need the device list first), in a second request of aliased fields.
 */
export function meshOperation(url: string, workload: WorkloadName, inputs: WorkloadInputs): Operation {
  let signal: AbortSignal | undefined;
  const gql = async (query: string, variables: Json = {}) => {
    const answer = await postJson(url, { query, variables }, signal);
    if (answer.status !== 200 || answer.json.errors)
      throw new Error(JSON.stringify(answer.json.errors ?? answer.status));
    return { data: answer.json.data as Json, bytes: answer.bytes };
  };
  const appsOf = async (cuids: string[]) => {
    if (cuids.length === 0) return { data: {} as Json, bytes: 0 };
    const fields = cuids
      .map(
        (c, i) =>
          `a${i}: listDeviceApps(input: { cuid: "${c}" }) { ... on Box_BoxDeviceAppListResponse { list { fields { name } } } }`,
      )
      .join(' ');
    return gql(`mutation { ${fields} }`);
  };
  return async (abort) => {
    signal = abort;
    try {
      if (workload === 'W1') {
        // Inline: Mesh types the imei and cuid inputs as NonEmptyString, not String.
        const imei = JSON.stringify(inputs.imei);
        const { data, bytes } = await gql(
          `mutation {
            getDevices(input: { deviceIds: [${imei}] }) { ... on Kdms_KdmsGetDevicesResponse { devices { imei deviceId modelName } } }
            selectDeviceInfoByImei(input: { imei: ${imei} }) { ... on KnoxManage_SelectDeviceInfoRespSchema { resultValue { deviceStatus } } }
            readDevice(input: { cuid: ${imei} }) { ... on Box_BoxDeviceReadResponse { fields { name disabled } } } }`,
        );
        const ok =
          ((data.getDevices as Json)?.devices as unknown[] | undefined)?.length === 1 &&
          Boolean((data.selectDeviceInfoByImei as Json)?.resultValue) &&
          Boolean((data.readDevice as Json)?.fields);
        return { ok, bytes };
      }
      if (workload === 'W2' || workload === 'W3') {
        const filter =
          workload === 'W2'
            ? 'pageSize: 100'
            : `deviceIds: ${JSON.stringify(inputs.entityImeis)}, pageSize: 1000`;
        const first = await gql(`mutation {
          getDevices(input: { ${filter} }) { ... on Kdms_KdmsGetDevicesResponse { devices { imei serialNumber deviceId modelName } } }
          selectDeviceList(input: { limit: 1000 }) { ... on KnoxManage_SelectDeviceRespSchema { resultValue { devicelist { imei serialNumber deviceStatus } } } }
          listDevices(input: {}) { ... on Box_BoxDeviceListResponse { list { fields { cuid name disabled } } } } }`);
        const devices =
          ((first.data.getDevices as Json)?.devices as Array<{
            imei: string | null;
            serialNumber: string | null;
          }>) ?? [];
        const box = new Set(
          (((first.data.listDevices as Json)?.list as Array<{ fields: { cuid: string } }>) ?? []).map(
            (d) => d.fields.cuid,
          ),
        );
        if (workload === 'W3') return { ok: devices.length > 0 && box.size > 0, bytes: first.bytes };
        const cuids = devices
          .map((d) =>
            d.imei && box.has(d.imei)
              ? d.imei
              : d.serialNumber && box.has(d.serialNumber)
                ? d.serialNumber
                : null,
          )
          .filter((c): c is string => c !== null);
        const apps = await appsOf(cuids);
        return {
          ok: devices.length === 100 && Object.keys(apps.data).length === cuids.length,
          bytes: first.bytes + apps.bytes,
        };
      }
      const first = await gql(
        // Inline: Mesh types userId as a length-checked custom scalar, not String.
        `mutation {
          selectDeviceList(input: { userId: ${JSON.stringify(inputs.userId)}, limit: 1000 }) { ... on KnoxManage_SelectDeviceRespSchema { resultValue { devicelist { imei serialNumber } } } }
          listDevices(input: {}) { ... on Box_BoxDeviceListResponse { list { fields { cuid } } } } }`,
      );
      const devices = (
        (((first.data.selectDeviceList as Json)?.resultValue as Json)?.devicelist as Array<{
          imei: string;
          serialNumber: string;
        }>) ?? []
      ).slice(0, 20);
      const box = new Set(
        (((first.data.listDevices as Json)?.list as Array<{ fields: { cuid: string } }>) ?? []).map(
          (d) => d.fields.cuid,
        ),
      );
      const cuids = devices
        .map((d) => (box.has(d.imei) ? d.imei : box.has(d.serialNumber) ? d.serialNumber : null))
        .filter((c): c is string => c !== null);
      const apps = await appsOf(cuids);
      return { ok: devices.length === inputs.userDeviceCount, bytes: first.bytes + apps.bytes };
    } catch {
      return { ok: false, bytes: 0 };
    }
  };
}
