/**
 * The dashboard benchmark: the bundle's gzipped size (beside the Swagger UI Ferry already
 * serves at /docs), first load to interactive on loopback (beside /docs rendering), and the
 * delay from a file dropped into a watched folder to its row turning complete on the page,
 * beside the same delay seen by a bare WebSocket client subscribed to the live channel.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import {
  call,
  ensureDashboardBuilt,
  launchChromium,
  startDashboardFerry,
} from '../test/helpers/browser.ts';
import { repoRoot } from '../test/helpers/process.ts';
import type { Benchmark, Report } from './run.ts';
import { percentile } from './transfer-node.ts';

const loads = 5;
const drops = 10;

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

function gzipped(files: string[]): number {
  return files.reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0);
}

function bundleSize(report: Report): void {
  const assets = path.join(repoRoot, 'web/dist/assets');
  const ours = readdirSync(assets)
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((f) => path.join(assets, f));
  const swagger = path.join(repoRoot, 'node_modules/@fastify/swagger-ui/static');
  const peer = ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'index.css'].map((f) =>
    path.join(swagger, f),
  );
  report.figure(
    'dashboard bundle, gzipped (JS + CSS)',
    { value: gzipped(ours) / 1024, unit: 'KiB' },
    { name: 'Swagger UI at /docs', value: gzipped(peer) / 1024, unit: 'KiB' },
  );
}

async function firstLoad(report: Report, browser: Browser, url: string, key: string) {
  const ours: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < loads; i += 1) {
    const context = await browser.newContext();
    await context.addInitScript((k: string) => {
      localStorage.setItem('ferry.credential', JSON.stringify({ kind: 'key', access: k }));
    }, key);
    const page = await context.newPage();
    let started = performance.now();
    await page.goto(`${url}/ui/`);
    await page.locator('[data-live="open"]').waitFor();
    await page.locator('[data-figure="Store"]', { hasText: /pglite|postgres/ }).waitFor();
    ours.push(performance.now() - started);
    started = performance.now();
    await page.goto(`${url}/docs`);
    await page.locator('.swagger-ui .opblock').first().waitFor();
    peer.push(performance.now() - started);
    await context.close();
  }
  report.figure(
    `first load to interactive (median of ${loads}, live link open and figures shown)`,
    { value: median(ours), unit: 'ms' },
    { name: '/docs until its operations render', value: median(peer), unit: 'ms' },
  );
}

/** Resolves with the time (performance.now) the bare client saw each path finish. */
function bareClient(url: string, key: string, topic: string) {
  const seen = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/live`, [
    'ferry.v1',
    `bearer.${key}`,
  ]);
  const opened = new Promise<void>((resolve) => {
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', payload: { topics: [topic] }, id: 's' }));
      resolve();
    });
  });
  ws.addEventListener('message', (m: MessageEvent) => {
    const msg = JSON.parse(String(m.data)) as {
      type: string;
      payload?: { event?: string; data?: { path?: string } };
    };
    const p = msg.payload?.data?.path;
    if (msg.type !== 'event' || msg.payload?.event !== 'watch:file-finished' || !p) return;
    const t = performance.now();
    seen.set(p, t);
    waiters.get(p)?.(t);
  });
  return {
    opened,
    finished(p: string): Promise<number> {
      const t = seen.get(p);
      if (t !== undefined) return Promise.resolve(t);
      return new Promise((resolve) => waiters.set(p, resolve));
    },
    close: () => {
      ws.close();
    },
  };
}

async function dropToRow(
  report: Report,
  browser: Browser,
  url: string,
  key: string,
  volume: string,
) {
  const src = path.join(volume, 'in');
  mkdirSync(src);
  const profile = await call<{ id: number }>(`${url}/api/v1/transfers`, key, 'POST', {
    source_path: src,
    destination_path: path.join(volume, 'out'),
    watch_mode_enabled: true,
    watch_continuous: true,
    settle_time_seconds: 0,
  });
  const context = await browser.newContext();
  await context.addInitScript((k: string) => {
    localStorage.setItem('ferry.credential', JSON.stringify({ kind: 'key', access: k }));
  }, key);
  const page = await context.newPage();
  await page.goto(`${url}/ui/transfers/${profile.id}`);
  await page.locator('[data-live="open"]').waitFor();
  const bare = bareClient(url, key, `watch:${profile.id}`);
  await bare.opened;
  const onPage: number[] = [];
  const onSocket: number[] = [];
  for (let i = 0; i < drops; i += 1) {
    const name = `drop-${i}.bin`;
    const row = page.locator(`tr[data-file="${name}"][data-status="completed"]`).waitFor();
    const socket = bare.finished(name);
    const started = performance.now();
    writeFileSync(path.join(src, name), Buffer.alloc(64 * 1024, i));
    const [socketAt] = await Promise.all([socket, row]);
    onPage.push(performance.now() - started);
    onSocket.push(socketAt - started);
  }
  bare.close();
  await context.close();
  report.figure(
    `file dropped to its row complete on the page (median of ${drops}, 64 KiB, settle 0)`,
    { value: median(onPage), unit: 'ms' },
    { name: 'bare WebSocket client, watch:file-finished', value: median(onSocket), unit: 'ms' },
  );
  report.note(
    'the page waits for the live event, then rereads the file list (debounced 200 ms) to show checksums',
  );
}

export const dashboardBenchmark: Benchmark = {
  name: 'dashboard',
  description: 'bundle size, first load, file drop to row complete (vs a bare WebSocket client)',
  async run(report) {
    ensureDashboardBuilt();
    bundleSize(report);
    const work = mkdtempSync(path.join(tmpdir(), 'ferry-bench-dash-'));
    const volume = path.join(work, 'volume');
    mkdirSync(volume);
    const server = await startDashboardFerry(path.join(work, 'data'), volume, {
      FERRY_LOG_LEVEL: 'error',
    });
    const browser = await launchChromium();
    try {
      await firstLoad(report, browser, server.url, server.bootstrapKey);
      await dropToRow(report, browser, server.url, server.bootstrapKey, volume);
    } finally {
      await browser.close();
      await server.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
