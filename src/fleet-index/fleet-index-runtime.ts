import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import type { FleetIndex } from './fleet-index.js';
import type { FleetSync } from './fleet-sync.js';

/**
 * What the rest of Fleetgraph sees of the fleet index: whether the planner may read it, the index itself
 * for reads, and targeted refreshes that never fail their caller (the index is a copy: a refresh that
 * fails is logged, and the next sync repairs it).
 */
export class FleetIndexRuntime {
  private readonly logger: Logger;

  constructor(
    readonly index: FleetIndex,
    readonly sync: FleetSync,
    logger?: Logger,
  ) {
    this.logger = logger ?? silentLogger();
  }

  /** Every source has a completed full sync: listings, joins and `_entities` read the index. */
  get usable(): boolean {
    return this.sync.status().usable;
  }

  async refresh(what: string, work: (index: FleetIndex) => Promise<void>): Promise<void> {
    try {
      await work(this.index);
    } catch (error) {
      this.logger.warn(
        { what, err: error instanceof Error ? error.message : String(error) },
        'fleet index: targeted refresh failed; the next sync repairs it',
      );
    }
  }

  async close(): Promise<void> {
    await this.sync.stop();
    await this.index.engine.close();
  }
}
