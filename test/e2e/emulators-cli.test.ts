import type { KnoxTokenResponse } from '../../src/upstreams/kdms/kdms.wire.js';
import type { KnoxManageTokenResponse } from '../../src/upstreams/knox-manage/knox-manage.wire.js';
import { bearer, postForm, postJson } from '../helpers/http.js';
import { startTsProcess } from '../helpers/ts-process.js';
import type { TsProcess } from '../helpers/ts-process.js';

/** `npm run emulators` as a user runs it: a process that prints its URLs and credentials, then serves. */
describe('fleetgraph emulate (npm run emulators)', () => {
  let emulate: TsProcess;
  let output = '';

  beforeAll(async () => {
    emulate = await startTsProcess(
      'src/cli.ts',
      ['emulate', '--kdms-port', '0', '--knox-manage-port', '0', '--box-port', '0', '--fleet-size', '300'],
      { env: { ...process.env, NODE_OPTIONS: '' }, readyWhen: 'Ctrl+C' },
    );
    output = emulate.output;
  }, 30_000);

  afterAll(() => emulate?.kill());

  const url = (label: string): string => emulate.find(new RegExp(`${label}\\s+(http://\\S+)`));

  it('prints each base URL and the development credentials', () => {
    expect(output).toMatch(/KDMS\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain('fleetgraph-dev / fleetgraph-dev-secret');
    expect(output).toContain('fleetgraph-dev@fleetgraph.test / fleetgraph-dev-secret');
    expect(output).toContain('X-FH-AUTH-USER: fleetgraph-dev-key');
  });

  it('answers the documented first calls of each API', async () => {
    const kdms = url('KDMS');
    const kdmsToken = await postForm<KnoxTokenResponse>(`${kdms}/ams/v1/oauth2/token`, {
      grant_type: 'client_credentials',
      client_id: 'fleetgraph-dev',
      client_secret: 'fleetgraph-dev-secret',
    });
    const devices = await postJson<{ devices: unknown[] }>(
      `${kdms}/kdms/v1/devices/getDevices`,
      { pageSize: 10 },
      bearer(kdmsToken.json.access_token),
    );
    expect(devices.json.devices).toHaveLength(10);

    const km = url('Knox Manage');
    const kmToken = await postForm<KnoxManageTokenResponse>(`${km}/emm/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: 'fleetgraph-dev@fleetgraph.test',
      client_secret: 'fleetgraph-dev-secret',
    });
    const list = await postForm(
      `${km}/emm/oapi/device/selectDeviceList`,
      { deviceStatus: 'A' },
      bearer(String(kmToken.json.access_token)),
    );
    expect(list.json).toMatchObject({
      resultCode: '0',
      resultMessage: 'No Error',
      resultValue: { total: expect.any(String), devicelist: expect.any(Array) },
    });

    const box = await postJson(
      `${url('Box')}/box/srv/1.1/admin/device/list`,
      {},
      { 'x-fh-auth-user': 'fleetgraph-dev-key' },
    );
    expect(box.json).toMatchObject({ status: 'ok', count: expect.any(Number), list: expect.any(Array) });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await emulate.terminate()).toBe(0);
  });
});
