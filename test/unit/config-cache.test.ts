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
