import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from '../config/config.js';
import type { FleetgraphConfig, UpstreamsConfig } from '../config/config.js';
import type { UploadJob } from '../jobs/upload-job.js';
import type { Logger } from '../observability/logger.js';
import type { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import { KDMS_MAX_IDS_PER_GET } from '../upstreams/kdms/kdms.wire.js';
import { FleetIndex } from './fleet-index.js';
import { FleetIndexRuntime } from './fleet-index-runtime.js';
import { FleetSync } from './fleet-sync.js';
import type { FleetSyncClients } from './fleet-sync.js';
import { PostgresEngine, SqliteEngine } from './sql-engine.js';

/**
 * Opens the configured engine (PostgreSQL when FLEET_INDEX_DATABASE_URL is set, else the SQLite file),
 * prepares its tables and the sync. The sync starts with `runtime.sync.start()`.
 */
export async function openFleetIndex(
  settings: NonNullable<FleetgraphConfig['fleetIndex']>,
  upstreams: UpstreamsConfig,
  clients: FleetSyncClients,
  logger: Logger,
): Promise<FleetIndexRuntime> {
  const setting = settings.databaseUrl ? 'FLEET_INDEX_DATABASE_URL' : `FLEET_INDEX_FILE (${settings.file})`;
  // A setting to fix, said as one (no stack trace): the database is down, the file cannot be created.
  const refuse = (error: unknown) =>
    new ConfigError([
      `The fleet index (${setting}) cannot be opened: ${error instanceof Error ? error.message : String(error)}. ` +
        'Fix the setting, or set FLEET_INDEX=off to read the APIs per request',
    ]);
  let engine: PostgresEngine | SqliteEngine;
  try {
    engine = settings.databaseUrl
      ? new PostgresEngine(settings.databaseUrl)
      : SqliteEngine.open(settings.file);
  } catch (error) {
    throw refuse(error);
  }
  const index = new FleetIndex(engine, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`);
  try {
    // Another tenant's (or another emulator's) index is not a copy of these upstreams.
    await index.open(JSON.stringify([upstreams.kdms.url, upstreams.knoxManage.url, upstreams.box.url]));
  } catch (error) {
    await engine.close().catch(() => undefined);
    throw refuse(error);
  }
  const sync = new FleetSync(index, clients, { intervalMs: settings.syncIntervalMs, logger });
  return new FleetIndexRuntime(index, sync, logger);
}

/**
 * What a settled upload or delete job changes in the index: KDMS's registrations of the devices it
 * uploaded (read back, one getDevices per 1,000), or their removal.
 */
export function refreshFromJob(runtime: FleetIndexRuntime, kdms: KdmsClient) {
  return async (job: UploadJob): Promise<void> => {
    const failed = new Set(job.failures.map((f) => f.identifier));
    const succeeded = job.identifiers.filter((id) => !failed.has(id));
    if (succeeded.length === 0) return;
    if (job.operation === 'DELETE') {
      await runtime.refresh('KDMS delete', (index) => index.removeRegistrations(succeeded));
      return;
    }
    for (let i = 0; i < succeeded.length; i += KDMS_MAX_IDS_PER_GET) {
      const deviceIds = succeeded.slice(i, i + KDMS_MAX_IDS_PER_GET);
      const page = await kdms.getDevices({ deviceIds, pageSize: KDMS_MAX_IDS_PER_GET });
      await runtime.refresh('KDMS upload', (index) => index.putRegistrations(page.registrations));
    }
  };
}
