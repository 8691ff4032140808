import 'reflect-metadata';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStoreFactory } from '../../src/cache/create-store.js';
import { loadConfig } from '../../src/config/config.js';
import { createUpstreams } from '../../src/server/create-upstreams.js';
import type { Upstreams } from '../../src/server/create-upstreams.js';
import { KDMS_MAX_PAGE_SIZE } from '../../src/upstreams/kdms/kdms.wire.js';
import { KNOX_MANAGE_MAX_LIMIT } from '../../src/upstreams/knox-manage/knox-manage.wire.js';

/**
 * The benchmark's limit (system c): the same four answers written by hand as plain REST, with the
 * fewest upstream calls the APIs allow and no GraphQL at all. It uses Fleetgraph's upstream clients
 * (same HTTP stack, same keep-alive agents), so the difference measured is the graph layer itself.
 * Each endpoint writes the JSON that the GraphQL operation's `data` holds.
 */

async function w1(u: Upstreams, imei: string) {
  const [registration, managed, access] = await Promise.all([
    u.kdms.getDevices({ deviceIds: [imei], pageSize: 1 }).then((p) => p.registrations[0] ?? null),
    u.knoxManage.selectDeviceInfoByImei(imei),
    u.box.readDevice(imei),
  ]);
  return {
    device: {
      imei,
      model: registration?.model ?? managed?.model ?? null,
      registration: registration ? { deviceId: registration.deviceId } : null,
      management: managed ? { status: managed.status } : null,
      access: access ? { name: access.name, loginBlocked: access.loginBlocked } : null,
    },
  };
}

async function w2(u: Upstreams) {
  const page = await u.kdms.getDevices({ pageSize: 100 });
  const [km, box] = await Promise.all([u.reads.knoxManageDevices(), u.reads.boxDevices()]);
  const rows = page.registrations.map((r) => ({
    r,
    m: (r.imei && km.byImei.get(r.imei)) || (r.serialNumber && km.bySerial.get(r.serialNumber)) || null,
    a: (r.imei && box.byCuid.get(r.imei)) || (r.serialNumber && box.byCuid.get(r.serialNumber)) || null,
  }));
  const apps = await Promise.all(
    rows.map((row) => (row.a ? u.box.listApps(row.a.cuid) : Promise.resolve([]))),
  );
  return {
    devices: {
      edges: rows.map(({ r, m, a }, i) => ({
        node: {
          imei: r.imei,
          serialNumber: r.serialNumber,
          model: r.model ?? m?.model ?? null,
          management: m ? { status: m.status } : null,
          access: a ? { name: a.name, loginBlocked: a.loginBlocked } : null,
          apps: (apps[i] ?? []).map((app) => ({ name: app.name })),
        },
      })),
    },
  };
}

async function w3(u: Upstreams, imeis: string[]) {
  const [page, km, box] = await Promise.all([
    u.kdms.getDevices({ deviceIds: imeis, pageSize: KDMS_MAX_PAGE_SIZE }),
    u.reads.knoxManageDevices(),
    u.reads.boxDevices(),
  ]);
  const byImei = new Map(
    page.registrations.flatMap((r) => [r.imei, r.secondaryImei].filter(Boolean).map((i) => [i!, r] as const)),
  );
  return {
    _entities: imeis.map((imei) => {
      const r = byImei.get(imei);
      const m = km.byImei.get(imei);
      const a = box.byCuid.get(imei);
      return {
        imei,
        registration: r ? { deviceId: r.deviceId } : null,
        management: m ? { status: m.status } : null,
        access: a ? { name: a.name } : null,
      };
    }),
  };
}

async function w4(u: Upstreams, userId: string) {
  // A user's devices the way the graph reads them: selectDeviceList filtered by owner, one call.
  const [devices, box] = await Promise.all([
    u.knoxManage.selectDeviceList({ userId, limit: KNOX_MANAGE_MAX_LIMIT }),
    u.reads.boxDevices(),
  ]);
  // The GraphQL operation asks for the first 20 devices: read apps for those only.
  const list = devices.items.slice(0, 20);
  const apps = await Promise.all(
    list.map((d) => {
      const a =
        (d.imei && box.byCuid.get(d.imei)) || (d.serialNumber && box.byCuid.get(d.serialNumber)) || null;
      return a ? u.box.listApps(a.cuid) : Promise.resolve([]);
    }),
  );
  return {
    user: {
      userId,
      devices: {
        edges: list.map((d, i) => ({
          node: { imei: d.imei, apps: (apps[i] ?? []).map((a) => ({ name: a.name })) },
        })),
      },
    },
  };
}

export async function startDirectService(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig({ ...process.env, JOB_STORE_FILE: 'memory' });
  if (!config.upstreams) throw new Error('the direct service needs KDMS_URL, KNOX_MANAGE_URL and BOX_URL');
  const upstreams = createUpstreams({
    config: config.upstreams,
    stores: createStoreFactory(),
    readCacheTtlMs: 0,
    resilience: config.resilience,
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://direct');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const run = async (): Promise<unknown> => {
        switch (url.pathname) {
          case '/w1':
            return w1(upstreams, url.searchParams.get('imei') ?? '');
          case '/w2':
            return w2(upstreams);
          case '/w3':
            return w3(
              upstreams,
              (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { imeis: string[] }).imeis,
            );
          case '/w4':
            return w4(upstreams, url.searchParams.get('userId') ?? '');
          default:
            throw new Error(`no route ${url.pathname}`);
        }
      };
      run().then(
        (data) => {
          const body = JSON.stringify({ data });
          res
            .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
            .end(body);
        },
        (error: unknown) =>
          res
            .writeHead(502, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: String(error) })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
