/**
 * `npm run docs:screenshots`: starts a throwaway Ferry, gives it some work (a watch profile with
 * files, events with one failure), and saves a screenshot of every dashboard page to docs/img/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  account,
  call,
  ensureDashboardBuilt,
  launchChromium,
  startDashboardFerry,
} from '../test/helpers/browser.ts';
import { repoRoot } from '../test/helpers/process.ts';

const work = mkdtempSync(path.join(tmpdir(), 'ferry-shots-'));
const volume = path.join(work, 'volume');
const out = path.join(repoRoot, 'docs/img');
mkdirSync(path.join(volume, 'camera-a'), { recursive: true });
mkdirSync(path.join(volume, 'archive'), { recursive: true });
mkdirSync(out, { recursive: true });
ensureDashboardBuilt();

const server = await startDashboardFerry(path.join(work, 'data'), volume, {
  FERRY_LOG_LEVEL: 'error',
});
const browser = await launchChromium();
try {
  const key = server.bootstrapKey;
  await account(server.url, 'alice', 'analytical1');
  const watch = await call<{ id: number }>(`${server.url}/api/v1/transfers`, key, 'POST', {
    source_path: path.join(volume, 'camera-a'),
    destination_path: path.join(volume, 'archive'),
    watch_mode_enabled: true,
    watch_continuous: true,
    settle_time_seconds: 0,
  });
  for (let i = 1; i <= 5; i += 1) {
    writeFileSync(path.join(volume, 'camera-a', `clip-${i}.mov`), Buffer.alloc(200_000 * i, i));
  }
  await call(`${server.url}/api/v1/events/batch`, key, 'POST', {
    events: Array.from({ length: 40 }, (_, i) => ({
      event_name: `render.${i % 4}`,
      event_type: 'task',
    })),
  });
  await call(`${server.url}/api/v1/events`, key, 'POST', { event_name: '   ', event_type: 'bad' });

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}/`);
  await shot(page, 'signin');
  await page.getByRole('textbox', { name: 'API key' }).fill(key);
  await page.getByRole('button', { name: 'Use API key' }).click();
  await page.locator('[data-live="open"]').waitFor();
  await page.goto(`${server.url}/ui/transfers/${watch.id}`);
  await page
    .locator('tr[data-file="clip-5.mov"][data-status="completed"]')
    .waitFor({ timeout: 60_000 });
  const pages: [string, string][] = [
    ['overview', '/ui/'],
    ['transfers', '/ui/transfers'],
    ['transfer', `/ui/transfers/${watch.id}`],
    ['events', '/ui/events'],
    ['audit', '/ui/audit'],
    ['pipelines', '/ui/pipelines'],
    ['cluster', '/ui/cluster'],
    ['settings', '/ui/settings'],
  ];
  for (const [name, url] of pages) {
    await page.goto(`${server.url}${url}`);
    await page.locator('[data-live="open"]').waitFor();
    await page.locator('h1').waitFor();
    await page.waitForLoadState('networkidle');
    await shot(page, name);
  }
  const phone = await browser.newPage({
    viewport: { width: 390, height: 844 },
    colorScheme: 'dark',
  });
  await phone.goto(`${server.url}/`);
  await phone.getByRole('textbox', { name: 'API key' }).fill(key);
  await phone.getByRole('button', { name: 'Use API key' }).click();
  await phone.locator('[data-live="open"]').waitFor();
  await phone.waitForLoadState('networkidle');
  await shot(phone, 'overview-phone-dark');
} finally {
  await browser.close();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
  console.log(`docs/img/${name}.png`);
}
