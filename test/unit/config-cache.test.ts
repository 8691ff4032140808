import { ConfigError, loadConfig } from '../../src/config/config.js';

/** CACHE_URL: validated without echoing it (it may hold a password), and exclusive with a job file. */
const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('CACHE_URL', () => {
  it('takes a redis:// or rediss:// URL and moves upload jobs off the file store', () => {
    const config = loadConfig({ CACHE_URL: 'redis://:secret@cache.internal:6380/2' });
    expect(config.cache.url).toBe('redis://:secret@cache.internal:6380/2');
    expect(config.jobs.storeFile).toBeNull();
    expect(loadConfig({ CACHE_URL: 'rediss://cache.internal:6380' }).cache.url).toBe(
      'rediss://cache.internal:6380',
    );
    expect(loadConfig({}).cache.url).toBeNull();
    expect(loadConfig({}).jobs.storeFile).toBe('.fleetgraph/jobs.sqlite');
  });

  it('refuses anything else, without repeating the value', () => {
    for (const value of ['http://:hunter2@cache:6379', 'hunter2-not-a-url']) {
      const problems = problemsOf({ CACHE_URL: value });
      expect(problems).toEqual([
        'CACHE_URL must be a redis:// or rediss:// URL (redis://[:password@]host:port[/db])',
      ]);
      expect(problems.join()).not.toContain('hunter2');
    }
  });

  it('refuses a job file beside it, since jobs would not be where the file says', () => {
    expect(
      problemsOf({ CACHE_URL: 'redis://cache:6379', JOB_STORE_FILE: '/var/lib/fleetgraph/jobs.json' }),
    ).toEqual([
      'JOB_STORE_FILE and CACHE_URL are both set: with CACHE_URL upload jobs live in Redis; unset one',
    ]);
    expect(problemsOf({ CACHE_URL: 'redis://cache:6379', JOB_STORE_FILE: 'memory' })).toEqual([]);
  });
});

describe('the fleet index settings', () => {
  const real = {
    KDMS_URL: 'https://kdms.test/kdms/v1',
    KDMS_CLIENT_ID: 'id',
    KDMS_CLIENT_SECRET: 'secret',
    KNOX_MANAGE_URL: 'https://km.test',
    KNOX_MANAGE_CLIENT_ID: 'id@km.test',
    KNOX_MANAGE_CLIENT_SECRET: 'secret',
    BOX_URL: 'https://box.test',
    BOX_API_KEY: 'key',
    WEBHOOK_PUBLIC_URL: 'https://fleetgraph.test/webhooks/knox',
  };

  it('default to an index: a temporary one for the embedded emulators, a file for real upstreams', () => {
    expect(loadConfig({}).fleetIndex).toEqual({ file: 'memory', databaseUrl: null, syncIntervalMs: 900_000 });
    expect(loadConfig(real).fleetIndex).toMatchObject({ file: '.fleetgraph/fleet-index.sqlite' });
    expect(loadConfig({ FLEET_INDEX: 'off' }).fleetIndex).toBeNull();
    expect(
      loadConfig({ FLEET_SYNC_INTERVAL: '1h', FLEET_INDEX_DATABASE_URL: 'postgres://fg:pw@db:5432/fg' })
        .fleetIndex,
    ).toMatchObject({ syncIntervalMs: 3_600_000, databaseUrl: 'postgres://fg:pw@db:5432/fg' });
    expect(loadConfig({ FLEET_SYNC_INTERVAL: '90' }).fleetIndex?.syncIntervalMs).toBe(90_000);
  });

  it('refuse bad values, one message each, never echoing a database URL', () => {
    const problems = problemsOf({
      FLEET_INDEX: 'maybe',
      FLEET_SYNC_INTERVAL: 'often',
      FLEET_INDEX_DATABASE_URL: 'mysql://root:hunter2@db/fg',
    });
    expect(problems).toEqual([
      'FLEET_INDEX must be on or off, got "maybe"',
      'FLEET_INDEX_DATABASE_URL must be a postgres:// URL (postgres://user[:password]@host:port/database)',
      'FLEET_SYNC_INTERVAL must be a duration between 1s and 7d such as 15m, 1h or 900s, got "often"',
    ]);
    expect(problems.join(' ')).not.toContain('hunter2');
  });
});

describe('HEAP_GROWTH_PERCENT', () => {
  it('defaults to 50, takes 0 (V8 decides) to 300, and refuses anything else', () => {
    expect(loadConfig({}).heapGrowthPercent).toBe(50);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '300' }).heapGrowthPercent).toBe(300);
    expect(problemsOf({ HEAP_GROWTH_PERCENT: '400' })).toEqual([
      'HEAP_GROWTH_PERCENT must be a whole number from 0 to 300, got "400"',
    ]);
  });
});
