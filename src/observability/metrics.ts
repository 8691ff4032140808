import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (prom-client), one registry per server so tests and replicas in one process do
 * not mix. Labels are bounded: operation names, upstream names and endpoint paths, never ids.
 */
export interface Metrics {
  registry: Registry;
  graphqlRequests: Counter<'operation' | 'outcome'>;
  graphqlErrors: Counter<'operation' | 'code'>;
  graphqlDuration: Histogram<'operation'>;
  upstreamCalls: Counter<'upstream' | 'endpoint' | 'status'>;
  upstreamDuration: Histogram<'upstream' | 'endpoint'>;
  upstreamRetries: Counter<'upstream' | 'endpoint'>;
  breakerState: Gauge<'upstream'>;
  loaderBatchSize: Histogram<'loader'>;
  cacheLookups: Counter<'cache' | 'result'>;
  storeErrors: Counter<'purpose'>;
  /** Reports `count()` as the number of job-event listeners (open `uploadJobChanged` subscriptions). */
  watchJobEventListeners(count: () => number): void;
  /** Reports the fleet index's state at each scrape (records, last full sync, sync progress). */
  watchFleetIndex(read: () => FleetIndexGauges): void;
}

export interface FleetIndexGauges {
  /** Records per source (kdms, knoxManage, knoxManageUsers, box). */
  records: Record<string, number>;
  /** Unix seconds of each source's last completed full sync (0: none yet). */
  lastFullSync: Record<string, number>;
  /** 1 while the source's last full sync failed (the index serves its last good copy). */
  failing: Record<string, number>;
  /** Progress of the running full sync, 0..100; -1 when none runs. */
  progressPercent: number;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Named once: prom-client's defaults are already `process_*` and `nodejs_*`.
  collectDefaultMetrics({ register: registry, prefix: 'fleetgraph_' });
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  let jobEventListeners: () => number = () => 0;
  let fleetIndex: (() => FleetIndexGauges) | null = null;
  const perSource = (name: string, help: string, pick: (g: FleetIndexGauges) => Record<string, number>) =>
    new Gauge({
      name,
      help,
      labelNames: ['source'],
      registers: [registry],
      collect() {
        if (!fleetIndex) return;
        for (const [source, value] of Object.entries(pick(fleetIndex()))) this.set({ source }, value);
      },
    });
  perSource('fleetgraph_fleet_index_records', 'Records the fleet index holds per source', (g) => g.records);
  perSource(
    'fleetgraph_fleet_index_last_full_sync_seconds',
    'Unix time of the last completed full sync per source (0: none yet)',
    (g) => g.lastFullSync,
  );
  perSource(
    'fleetgraph_fleet_index_sync_failing',
    "1 while the source's last full sync failed and the index serves its last good copy",
    (g) => g.failing,
  );
  new Gauge({
    name: 'fleetgraph_fleet_index_sync_progress_percent',
    help: 'Progress of the full sync running now (-1: none)',
    registers: [registry],
    collect() {
      if (fleetIndex) this.set(fleetIndex().progressPercent);
    },
  });
  new Gauge({
    name: 'fleetgraph_job_event_listeners',
    help: 'Listeners for upload job changes in this process: one per open uploadJobChanged subscription',
    registers: [registry],
    collect() {
      this.set(jobEventListeners());
    },
  });
  return {
    watchJobEventListeners: (count) => {
      jobEventListeners = count;
    },
    watchFleetIndex: (read) => {
      fleetIndex = read;
    },
    registry,
    graphqlRequests: new Counter({
      name: 'fleetgraph_graphql_requests_total',
      help: 'GraphQL operations served',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    graphqlErrors: new Counter({
      name: 'fleetgraph_graphql_errors_total',
      help: 'GraphQL errors by extensions.code',
      labelNames: ['operation', 'code'],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'fleetgraph_graphql_duration_seconds',
      help: 'GraphQL operation duration',
      labelNames: ['operation'],
      buckets: seconds,
      registers: [registry],
    }),
    upstreamCalls: new Counter({
      name: 'fleetgraph_upstream_requests_total',
      help: 'HTTP calls to upstream APIs',
      labelNames: ['upstream', 'endpoint', 'status'],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'fleetgraph_upstream_duration_seconds',
      help: 'Upstream call latency',
      labelNames: ['upstream', 'endpoint'],
      buckets: seconds,
      registers: [registry],
    }),
    upstreamRetries: new Counter({
      name: 'fleetgraph_upstream_retries_total',
      help: 'Retried upstream reads',
      labelNames: ['upstream', 'endpoint'],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'fleetgraph_upstream_breaker_open',
      help: '1 while the circuit breaker of an upstream is open',
      labelNames: ['upstream'],
      registers: [registry],
    }),
    loaderBatchSize: new Histogram({
      name: 'fleetgraph_loader_batch_size',
      help: 'Keys per DataLoader batch',
      labelNames: ['loader'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'fleetgraph_cache_lookups_total',
      help: 'Read cache lookups (hit ratio = hit / all)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'fleetgraph_store_errors_total',
      help: 'Failed operations on the shared store (Redis), by purpose: tokens and reads fall back, jobs refuse',
      labelNames: ['purpose'],
      registers: [registry],
    }),
  };
}
