/**
 * The dashboard in headless Chromium against a real `ferry start`: every page change comes over
 * the live channel (no reloads), a restart shows the reconnect banner and then catches up, and
 * a normal user sees only what is theirs.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  account,
  call,
  ensureDashboardBuilt,
  launchChromium,
  startDashboardFerry,
  type FerryServer,
} from './helpers/browser.ts';
import { tempDir } from './helpers/stores.ts';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const password = 'analytical1';

// A page, a browser and a restarted server on a loaded 2-core CI machine: each test gets 3 min.
describe('dashboard in a browser', { timeout: 180_000 }, () => {
  const volume = tempDir('ferry-dash-vol-');
  const data = tempDir('ferry-dash-data-');
  let server: FerryServer;
  let browser: Browser;
  let bobToken: string;

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startDashboardFerry(data.dir, volume.dir);
    await account(server.url, 'alice', password);
    bobToken = await account(server.url, 'bob', password);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser.close();
    await server.stop();
    volume.remove();
    data.remove();
  });

  async function signInWithAccount(page: Page, login: string): Promise<void> {
    const trail = watchLink(page);
    await page.goto(`${server.url}/`);
    await page.getByLabel('Username or email').fill(login);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await linkOpen(page, trail);
  }

  /** What the page's live link did, for the message of a link that never opened. */
  function watchLink(page: Page): string[] {
    const trail: string[] = [];
    const started = Date.now();
    const note = (line: string) => trail.push(`${String(Date.now() - started)} ms ${line}`);
    page.on('websocket', (ws) => {
      note(`open ${ws.url().replace(/session_token=[^&]+/, 'session_token=…')}`);
      ws.on('framereceived', (f) => {
        note(`frame ${String(f.payload).slice(0, 120)}`);
      });
      ws.on('socketerror', (e) => {
        note(`error ${e}`);
      });
      ws.on('close', () => {
        note('close');
      });
    });
    page.on('console', (m) => {
      note(`console ${m.text()}`);
    });
    return trail;
  }

  /**
   * Waits for the link banner to say Live. The bound is wide (a loaded CI machine starts pages
   * and sessions slowly); a link that never opens fails with the banner, the link's trail and
   * the server's last output.
   */
  async function linkOpen(page: Page, trail: string[], timeout = 60_000): Promise<void> {
    try {
      await page.locator('[data-live="open"]').waitFor({ timeout });
    } catch (error) {
      const banner = await page
        .locator('[data-live]')
        .first()
        .textContent()
        .catch(() => '(none)');
      const serverOutput = `${server.child.stdout()}\n${server.child.stderr()}`.slice(-4000);
      throw new Error(
        `the live link did not open: banner ${String(banner)}\n${trail.join('\n')}\n--- server ---\n${serverOutput}`,
        { cause: error },
      );
    }
  }

  /** The server's own count of accepted events in the events figure's window (10 min). */
  async function acceptedOnServer(): Promise<number> {
    const h = await call<{ series: Record<string, number[] | undefined> }>(
      `${server.url}/api/v1/history/events?window_seconds=600&bucket_seconds=1`,
      server.bootstrapKey,
      'GET',
    );
    return (h.series.accepted ?? []).reduce((a, b) => a + b, 0);
  }

  /** Resolves once the page's accepted-events figure reads exactly `n`. */
  function showsAccepted(page: Page, n: number): Promise<void> {
    return page
      .locator('[data-figure="events accepted"] .value', { hasText: new RegExp(`^${n}$`) })
      .waitFor({ timeout: 60_000 });
  }

  async function signInWithKey(page: Page): Promise<string[]> {
    const trail = watchLink(page);
    await page.goto(`${server.url}/ui/events`);
    await page.getByRole('textbox', { name: 'API key' }).fill(server.bootstrapKey);
    await page.getByRole('button', { name: 'Use API key' }).click();
    await linkOpen(page, trail);
    return trail;
  }

  it('creates a continuous watch profile, follows files live, pauses, resumes, exports CSV', async () => {
    const src = path.join(volume.dir, 'alice-in');
    const dst = path.join(volume.dir, 'alice-out');
    mkdirSync(src);
    mkdirSync(dst);
    const page = await browser.newPage();
    await signInWithAccount(page, 'alice');
    await page.getByRole('link', { name: 'Transfers' }).click();
    // The source is chosen with the folder picker, limited to the volumes.
    const picker = page.locator('.picker').first();
    await picker.getByRole('button', { name: 'Browse…' }).click();
    await picker.getByRole('button', { name: volume.dir }).click();
    await picker.getByRole('button', { name: '📁 alice-in' }).click();
    await picker.getByRole('button', { name: 'Use this folder' }).click();
    expect(await page.locator('input[name="source_path"]').inputValue()).toBe(src);
    await page.locator('input[name="destination_path"]').fill(dst);
    await page.getByLabel('When').selectOption('continuous');
    await page.getByLabel('Settle time (s)').fill('0');
    await page.getByLabel('Algorithm').selectOption('sha256');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/ui\/transfers\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())?.[1]);

    writeFileSync(path.join(src, 'a.bin'), 'first file');
    await page.locator('tr[data-file="a.bin"][data-status="completed"]').waitFor();

    // The list, reached without a reload, moves as the next file lands.
    await page.getByRole('link', { name: 'Transfers', exact: true }).click();
    await page.locator(`tr[data-transfer="${id}"] td[data-files="1"]`).waitFor();
    writeFileSync(path.join(src, 'b.bin'), 'second file');
    await page.locator(`tr[data-transfer="${id}"] td[data-files="2"]`).waitFor();

    // So does the overview.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator(`li[data-transfer="${id}"]`, { hasText: '2 files' }).waitFor();
    writeFileSync(path.join(src, 'c.bin'), 'third file');
    await page.locator(`li[data-transfer="${id}"]`, { hasText: '3 files' }).waitFor();

    await page.getByRole('link', { name: `#${id}` }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('[data-status="paused"]').first().waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('[data-status="active"]').first().waitFor();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Report (CSV)' }).click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8');
    for (const name of ['a.bin', 'b.bin', 'c.bin']) {
      const line = csv.split(/\r?\n/).find((l) => l.includes(name)) ?? '';
      expect(line).toContain(sha256(path.join(src, name)));
      expect(sha256(path.join(dst, name))).toBe(sha256(path.join(src, name)));
    }
    await page.close();
  });

  it('shows a normal user only their own transfers and no admin pages', async () => {
    const theirs = path.join(volume.dir, 'bob-in');
    mkdirSync(theirs);
    const bobs = await call<{ id: number }>(`${server.url}/api/v1/transfers`, bobToken, 'POST', {
      source_path: theirs,
      destination_path: path.join(volume.dir, 'bob-out'),
      watch_mode_enabled: true,
      watch_continuous: true,
    });
    const page = await browser.newPage();
    await signInWithAccount(page, 'alice');
    await page.getByRole('link', { name: 'Transfers' }).click();
    await page.locator('tr[data-transfer]').first().waitFor();
    expect(await page.locator(`tr[data-transfer="${bobs.id}"]`).count()).toBe(0);
    const nav = page.getByRole('navigation', { name: 'pages' });
    for (const adminPage of ['Pipelines', 'Cluster']) {
      expect(await nav.getByRole('link', { name: adminPage }).count()).toBe(0);
    }
    await page.goto(`${server.url}/ui/settings`);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Users' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: /configuration/ }).count()).toBe(0);
    await page.goto(`${server.url}/ui/pipelines`);
    await page.getByText('This page is for admins.').waitFor();
    await page.close();
  });

  it('moves the events page live, shows a failure with its error, keeps history over a reload', async () => {
    const page = await browser.newPage();
    await signInWithKey(page);
    // From the server's own count, once the page shows it: a figure read off the page before
    // its stored history loaded would be too low.
    const shows = (n: number) => showsAccepted(page, n);
    const before = await acceptedOnServer();
    await shows(before);
    const key = server.bootstrapKey;
    await call(`${server.url}/api/v1/events/batch`, key, 'POST', {
      events: [1, 2, 3].map((n) => ({ event_name: `e${n}`, event_type: 'track' })),
    });
    await call(`${server.url}/api/v1/events`, key, 'POST', {
      event_name: '   ',
      event_type: 'bad',
    });
    await shows(before + 4);
    await page.locator('[data-figure="events failed"]', { hasText: /[1-9]/ }).waitFor();
    await page
      .locator('.failed-events li', { hasText: /event_name/i })
      .first()
      .waitFor();
    // A reload shows the same figures from stored history, then continues live.
    await page.reload();
    await shows(before + 4);
    await call(`${server.url}/api/v1/events`, key, 'POST', {
      event_name: 'after',
      event_type: 't',
    });
    await shows(before + 5);
    await page.close();
  });

  it('says it is reconnecting while the server restarts, then catches up', async () => {
    const page = await browser.newPage();
    const trail = await signInWithKey(page);
    const shows = (n: number) => showsAccepted(page, n);
    const before = await acceptedOnServer();
    await shows(before);
    await server.stop();
    await page.locator('[data-live="reconnecting"]').waitFor();
    await server.start();
    await call(`${server.url}/api/v1/events/batch`, server.bootstrapKey, 'POST', {
      events: [1, 2].map((n) => ({ event_name: `while-away-${n}`, event_type: 'track' })),
    });
    await linkOpen(page, trail);
    expect(await acceptedOnServer()).toBe(before + 2);
    await shows(before + 2);
    await page.close();
  });
});
