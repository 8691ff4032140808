import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, HTTPRequest, Page } from 'puppeteer-core';

/**
 * A real browser for the tests that need one: Debian's chromium (`apt-get install chromium`; .ci/run installs
 * it when missing) driven by puppeteer-core, which downloads no browser of its own. It is offline twice over:
 * every host name but loopback fails to resolve (--host-resolver-rules), and each page's requests to other
 * hosts are aborted (or answered by the test) before they leave, and recorded.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** Debian's chromium, or null when this machine has none. */
export const CHROMIUM: string | null = CANDIDATES.find((path) => existsSync(path)) ?? null;

/**
 * `describe` when chromium is here, else a skip that says why. Under CI (.ci/run installs chromium) a missing
 * browser is a failure, not a skip.
 */
export function describeInBrowser(name: string, suite: () => void): void {
  if (CHROMIUM) return describe(name, suite);
  if (process.env.CI)
    return describe(name, () => {
      it('finds chromium', () => {
        throw new Error(
          `no chromium at ${CANDIDATES.join(', ')}: .ci/run installs it (apt-get install chromium)`,
        );
      });
    });
  console.warn(
    `${name}: skipped, no chromium at ${CANDIDATES.join(', ')} (apt-get install chromium, as .ci/run does)`,
  );
  describe.skip(name, suite);
}

/** Where screenshots are kept (gitignored): test/artifacts/. */
export const ARTIFACTS_DIR = join(process.cwd(), 'test', 'artifacts');

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/**
 * Debian's chromium, offline. Closed by closeChromium, not browser.close(): see there. Puppeteer kills it
 * itself when its own steps after spawning it fail (connecting, finding the first page).
 */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM!,
    // New headless mode: Debian ships no chrome-headless-shell.
    headless: true,
    args: [
      '--no-sandbox', // tests run as root in CI
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      // No calls to Google's hosts, and no name but loopback resolves: the machine's lack of internet,
      // made certain rather than assumed.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
      // Keeps a cross-origin iframe in its page's process, so request interception sees its navigation.
      '--disable-site-isolation-trials',
      '--disable-features=IsolateOrigins,site-per-process',
    ],
  });
}

/** How long browser.close() may take (well under a second when chromium is healthy) before it is killed. */
const CLOSE_TIMEOUT_MS = 5_000;

/** What `settles` resolves to, or false once `ms` have passed. */
async function within(settles: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([settles, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes chromium, and kills it if closing fails or takes longer than CLOSE_TIMEOUT_MS: browser.close() waits
 * on chromium's answer, which a wedged browser never gives, and a chromium outliving jest keeps running
 * unseen (puppeteer starts it in a process group of its own). Never throws, so the other resources of an
 * afterAll are stopped too. Undefined (a beforeAll that failed before it existed) is nothing to close.
 */
export async function closeChromium(browser: Browser | undefined): Promise<void> {
  if (!browser) return;
  const chromium = browser.process();
  // Settles once chromium has exited (puppeteer waits for the process), whichever way it ends.
  const exited = browser.close().then(
    () => true,
    () => false,
  );
  if ((await within(exited, CLOSE_TIMEOUT_MS)) || chromium?.pid === undefined) return;
  try {
    // The whole group: its renderer and utility processes would outlive a killed browser process.
    process.kill(-chromium.pid, 'SIGKILL');
  } catch {
    chromium.kill('SIGKILL'); // the group is gone already, or not ours to signal
  }
  // Its exit is what lets puppeteer remove the temporary profile.
  await within(exited, CLOSE_TIMEOUT_MS);
}

/**
 * Waits for every one of `starts` (or stops), then throws what failed (an AggregateError when several did).
 * Each start assigns its resource as it resolves (`launchChromium().then((b) => (browser = b))`), so afterAll
 * stops whatever did start: with Promise.all a failure returns at once, and what the others start afterwards
 * is never assigned, so never stopped (a chromium left running after jest).
 */
export async function settleAll(...starts: Array<Promise<unknown> | undefined>): Promise<void> {
  const failures = (await Promise.allSettled(starts)).flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} of them failed`);
}

/** What a page asked for and how it went. */
export interface PageLog {
  /** Every URL requested that is not on this machine (each was aborted or answered by the test). */
  external: string[];
  /** Every URL requested on this machine. */
  local: string[];
  /** Uncaught exceptions and console errors, CSP violations among them. */
  problems: string[];
  /** Console messages of every kind, in order. */
  console: string[];
}

/**
 * A page whose requests off this machine go to `answer` (undefined: aborted, as a network without internet
 * would), with a log of what it asked for and what went wrong.
 */
export async function offlinePage(
  browser: Browser,
  answer: (request: HTTPRequest) => Promise<boolean> | boolean = () => false,
): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  // A wait that fails, fails inside the test's own 30 s (the bound keeps a broken build from hanging).
  page.setDefaultTimeout(15_000);
  const log: PageLog = { external: [], local: [], problems: [], console: [] };
  page.on('pageerror', (error) => log.problems.push(`pageerror: ${String(error)}`));
  page.on('console', (message) => {
    log.console.push(`${message.type()}: ${message.text()}`);
    if (message.type() === 'error') log.problems.push(`console: ${message.text()}`);
  });
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:') return void request.continue();
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
      log.local.push(request.url());
      return void request.continue();
    }
    log.external.push(request.url());
    void Promise.resolve(answer(request)).then((answered) => {
      if (!answered) void request.abort('internetdisconnected');
    });
  });
  return { page, log };
}
