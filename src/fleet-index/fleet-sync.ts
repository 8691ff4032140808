import { setTimeout as sleep } from 'node:timers/promises';
import { mapSettled } from '../loaders/concurrency.js';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import type { BoxClient } from '../upstreams/box/box.client.js';
import { UpstreamError } from '../upstreams/errors.js';
import type { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import { KDMS_MAX_PAGE_SIZE } from '../upstreams/kdms/kdms.wire.js';
import type { KnoxManageClient } from '../upstreams/knox-manage/knox-manage.client.js';
import { KNOX_MANAGE_MAX_LIMIT } from '../upstreams/knox-manage/knox-manage.wire.js';
import { INDEX_SOURCES, NEVER_SYNCED } from './fleet-index.js';
import type { FleetIndex, IndexSource, SourceSyncState, SyncProgress } from './fleet-index.js';
import { accessRow, managedRow, registrationRow, userRow } from './index-rows.js';

/**
 * Keeps the fleet index in step with the upstreams: a full sync at start and every `intervalMs`.
 *
 * - None of the three APIs can list what changed since a time (Knox Manage's selectDeviceList filters by
 *   user and status only; Box and KDMS list everything), so syncs are full; changes between them reach
 *   the index through targeted refreshes (live reads, our writes, webhooks).
 * - Paced within each API's quota: the sync's calls are background work, admitted only within the
 *   background share of the budget (UPSTREAM_BACKGROUND_SHARE), and a 429 or a spent budget makes the
 *   sync wait and go on, so no caller ever meets one because of a sync.
 * - Each source is read into a stage table and swapped in with the others in one transaction; a source
 *   whose read fails keeps its last good rows and says why (`lastError`).
 * - On a shared engine, one replica syncs under a renewed lease kept in the engine itself; the others
 *   see its progress and its result. A replica that dies mid-sync loses the lease when it expires.
 */
export interface FleetSyncClients {
  kdms: KdmsClient;
  knoxManage: KnoxManageClient;
  box: BoxClient;
}

export interface FleetSyncOptions {
  intervalMs: number;
  /** How often replicas look at the shared state (and whether a sync is due). */
  checkEveryMs?: number;
  leaseMs?: number;
  /** Knox Manage pages read at once. */
  knoxManageConcurrency?: number;
  logger?: Logger;
}

export type FleetIndexStatusName = 'SYNCING' | 'READY' | 'STALE' | 'FAILED';

export interface FleetIndexStatus {
  status: FleetIndexStatusName;
  engine: string;
  shared: boolean;
  /** Whether listings and joins read the index (every source has a completed full sync). */
  usable: boolean;
  /** Whether this replica should take traffic: usable, and a sync was tried since it started (embedded) */
  ready: boolean;
  /** The oldest source's last completed full sync. */
  lastFullSyncAt: string | null;
  lastFullSyncMs: number | null;
  progressPercent: number | null;
  syncingReplica: string | null;
  /** Why the engine could not be read at the last look (the index is then not used); null when it could. */
  engineError: string | null;
  sources: Record<IndexSource, SourceSyncState>;
}

const RATE_LIMIT_WAITS = 8;
const MAX_RATE_LIMIT_WAIT_MS = 60_000;

export class FleetSync {
  private readonly startedAt = Date.now();
  private states: Record<IndexSource, SourceSyncState> | null = null;
  private progress: SyncProgress | null = null;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly logger: Logger;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly index: FleetIndex,
    private readonly clients: FleetSyncClients,
    private readonly options: FleetSyncOptions,
  ) {
    this.logger = options.logger ?? silentLogger();
  }

  /** Reads the index's state and starts the schedule; the first check (and, if due, sync) starts at once. */
  async start(): Promise<void> {
    await this.readState();
    const every = this.options.checkEveryMs ?? Math.min(5_000, this.options.intervalMs);
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Called after each state change this replica sees (for gauges and caches). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** The last state read (cheap: for every request's planner and /readyz). */
  /** The last computed status: every loader asks per record whether the index is usable. */
  private memo: FleetIndexStatus | null = null;

  status(): FleetIndexStatus {
    return (this.memo ??= this.computeStatus());
  }

  private computeStatus(): FleetIndexStatus {
    const sources = this.states ?? emptyStates();
    const all = INDEX_SOURCES.map((s) => sources[s]);
    const usable = this.unreachable === null && all.every((s) => s.lastFullSyncAt !== null);
    // Embedded, an index left by an earlier run may be of another fleet: ready once this run has synced
    // (or tried). Shared, another replica's sync counts.
    const since = this.index.shared ? 0 : this.startedAt;
    const tried = all.every((s) => s.lastAttemptAt !== null && Date.parse(s.lastAttemptAt) >= since);
    const failing = all.some((s) => s.lastError !== null);
    const fullSyncs = all.map((s) => s.lastFullSyncAt).filter((t): t is string => t !== null);
    return {
      status:
        this.unreachable !== null
          ? 'FAILED'
          : !usable
            ? failing
              ? 'FAILED'
              : 'SYNCING'
            : failing
              ? 'STALE'
              : 'READY',
      engineError: this.unreachable,
      engine: this.index.engine.description,
      shared: this.index.shared,
      usable,
      ready: usable && tried,
      lastFullSyncAt: usable ? fullSyncs.sort()[0]! : null,
      lastFullSyncMs: usable ? Math.max(...all.map((s) => s.lastFullSyncMs ?? 0)) : null,
      progressPercent: this.progress?.percent ?? null,
      syncingReplica: this.progress?.holder ?? null,
      sources,
    };
  }

  /** Runs a full sync now (or joins the one running); resolves when it is over. */
  async syncNow(): Promise<void> {
    await this.run(true);
  }

  private async run(force: boolean): Promise<void> {
    if (!this.running) this.running = this.runLeased(force).finally(() => (this.running = null));
    await this.running;
  }

  private async readState(): Promise<void> {
    try {
      this.states = await this.index.syncStates();
      this.progress = await this.index.progress();
      this.memo = null;
      // Another process on the same SQLite file swapped a sync in: plan with its statistics too.
      const lastSync = INDEX_SOURCES.map((s) => this.states![s].lastFullSyncAt ?? '').join();
      if (this.seenSync !== null && lastSync !== this.seenSync) this.index.engine.replan();
      this.seenSync = lastSync;
      if (this.unreachable) this.logger.info('fleet index: its engine answers again');
      this.unreachable = null;
    } catch (error) {
      // An engine that cannot be read (a shared PostgreSQL down) serves nothing: until it answers again
      // the planner reads the APIs live and /readyz says why.
      if (!this.unreachable)
        this.logger.warn(
          { err: errorMessage(error) },
          'fleet index: its engine cannot be read; reading the APIs live',
        );
      this.unreachable = errorMessage(error);
      this.memo = null;
    }
    for (const listener of this.listeners) listener();
  }

  /** The sources' last full syncs at the last look (a change means new planner statistics). */
  private seenSync: string | null = null;
  /** Why the engine could not be read at the last look, or null. */
  private unreachable: string | null = null;

  private async check(): Promise<void> {
    if (this.stopped || this.running) return;
    await this.readState();
    if (this.due()) await this.run(false).catch(() => undefined);
  }

  private due(): boolean {
    const states = this.states;
    if (!states) return false;
    const since = this.index.shared ? 0 : this.startedAt;
    return INDEX_SOURCES.some((s) => {
      const attempt = states[s].lastAttemptAt ? Date.parse(states[s].lastAttemptAt!) : 0;
      return attempt < since || Date.now() - attempt >= this.options.intervalMs;
    });
  }

  private async runLeased(force: boolean): Promise<void> {
    const leaseMs = this.options.leaseMs ?? 30_000;
    if (!(await this.index.takeLease(leaseMs))) return; // another replica syncs: its state reaches us by check()
    if (!force) {
      // Another replica may have finished a sync between our look and our lease: then none is due.
      await this.readState();
      if (!this.due()) {
        await this.index.releaseLease().catch(() => undefined);
        return;
      }
    }
    const renew = setInterval(
      () =>
        void this.index
          .takeLease(leaseMs)
          .catch((error: unknown) =>
            this.logger.warn({ err: errorMessage(error) }, 'fleet index sync lease not renewed'),
          ),
      leaseMs / 3,
    );
    renew.unref();
    try {
      await this.fullSync();
    } finally {
      clearInterval(renew);
      await this.index.releaseLease().catch(() => undefined);
      await this.readState();
    }
  }

  private async fullSync(): Promise<void> {
    const started = Date.now();
    const attemptAt = new Date(started).toISOString();
    const done: Record<IndexSource, number> = { kdms: 0, knoxManage: 0, knoxManageUsers: 0, box: 0 };
    let lastReported = -1;
    const report = async () => {
      const percent = Math.floor(
        (INDEX_SOURCES.reduce((sum, s) => sum + Math.min(1, done[s]), 0) / INDEX_SOURCES.length) * 100,
      );
      if (percent === lastReported) return;
      lastReported = percent;
      this.progress = { holder: this.index.replicaId, startedAt: attemptAt, percent };
      this.memo = null;
      await this.index.setProgress(this.progress).catch(() => undefined);
    };
    this.logger.info({ engine: this.index.engine.description }, 'fleet index: full sync started');
    await report();
    const read = async (source: IndexSource, work: () => Promise<void>): Promise<IndexSource | null> => {
      try {
        await this.index.clearStage(source);
        await work();
        done[source] = 1;
        await report();
        this.logger.info({ source, ms: Date.now() - started }, 'fleet index: source read');
        return source;
      } catch (error) {
        const message = errorMessage(error);
        this.logger.warn(
          { source, err: message },
          'fleet index: sync of a source failed; its last good rows stay',
        );
        await this.index.recordFailure(source, message, attemptAt).catch(() => undefined);
        return null;
      }
    };
    const { kdms, knoxManage, box } = this.clients;
    const stamp = () => new Date().toISOString();
    // One API after another: the sync's memory peaks at one API's answers, not all three at once (Box's
    // whole list alone is tens of megabytes at 100,000 devices), and a sync has minutes, not milliseconds.
    const outcomes = [
      await read('kdms', async () => {
        let searchAfter: string | null = null;
        let fetched = 0;
        for (;;) {
          const page = await this.patiently(() =>
            kdms.getDevices({ pageSize: KDMS_MAX_PAGE_SIZE, ...(searchAfter ? { searchAfter } : {}) }),
          );
          const at = stamp();
          await this.index.stage(
            'kdms',
            page.registrations.map((r) => registrationRow(r, at)),
          );
          fetched += page.registrations.length;
          if (page.totalCount) done.kdms = fetched / Math.max(1, page.totalCount);
          await report();
          const last = page.registrations.at(-1)?.deviceId;
          if (page.nextSearchAfter === null || !last) return;
          searchAfter = last;
        }
      }),
      await (async () => {
        const users = await read('knoxManageUsers', async () => {
          const page = await this.patiently(() => knoxManage.selectUsers());
          const at = stamp();
          await this.index.stage(
            'knoxManageUsers',
            page.items.map((u, i) => userRow(u, i, at)),
          );
        });
        const devices = await read('knoxManage', async () => {
          const first = await this.patiently(() =>
            knoxManage.selectDeviceList({ start: 0, limit: KNOX_MANAGE_MAX_LIMIT }),
          );
          await this.index.stage(
            'knoxManage',
            first.items.map((m) => managedRow(m, stamp())),
          );
          if (first.total === null) {
            // Without a total, page to the first short page.
            for (let start = first.items.length, last = first; last.items.length === KNOX_MANAGE_MAX_LIMIT;) {
              last = await this.patiently(() =>
                knoxManage.selectDeviceList({ start, limit: KNOX_MANAGE_MAX_LIMIT }),
              );
              await this.index.stage(
                'knoxManage',
                last.items.map((m) => managedRow(m, stamp())),
              );
              start += last.items.length;
            }
            return;
          }
          const starts: number[] = [];
          for (let s = first.items.length; s < first.total; s += KNOX_MANAGE_MAX_LIMIT) starts.push(s);
          let pages = 1;
          const failures = (
            await mapSettled(starts, this.options.knoxManageConcurrency ?? 2, async (start) => {
              const page = await this.patiently(() =>
                knoxManage.selectDeviceList({ start, limit: KNOX_MANAGE_MAX_LIMIT }),
              );
              await this.index.stage(
                'knoxManage',
                page.items.map((m) => managedRow(m, stamp())),
              );
              done.knoxManage = ++pages / (starts.length + 1);
              await report();
            })
          ).filter((r): r is Error => r instanceof Error);
          if (failures.length) throw failures[0]!;
        });
        return [users, devices];
      })(),
      await read('box', async () => {
        const all = await this.patiently(() => box.listDevices());
        const at = stamp();
        await this.index.stage(
          'box',
          all.map((a) => accessRow(a, at)),
        );
      }),
    ];
    const synced = outcomes.flat().filter((s): s is IndexSource => s !== null);
    await this.index.swapIn(synced, started, Date.now() - started);
    this.progress = null;
    this.memo = null;
    await this.index.setProgress(null).catch(() => undefined);
    this.logger.info(
      { synced, failed: INDEX_SOURCES.filter((s) => !synced.includes(s)), ms: Date.now() - started },
      'fleet index: full sync finished',
    );
  }

  /** A call that waits out a 429 or a spent budget (the sync has time; callers do not) and tries again. */
  private async patiently<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const rateLimited = error instanceof UpstreamError && error.code === 'RATE_LIMITED';
        if (!rateLimited || attempt >= RATE_LIMIT_WAITS || this.stopped) throw error;
        const waitMs = Math.min(
          MAX_RATE_LIMIT_WAIT_MS,
          Math.max(1_000, (error.retryAfterSeconds ?? 5) * 1000),
        );
        this.logger.info(
          { upstream: error.upstream, waitMs },
          'fleet index: sync waits for the upstream budget',
        );
        await sleep(waitMs, undefined, { ref: false });
      }
    }
  }
}

function emptyStates(): Record<IndexSource, SourceSyncState> {
  return Object.fromEntries(INDEX_SOURCES.map((s) => [s, NEVER_SYNCED])) as Record<
    IndexSource,
    SourceSyncState
  >;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
