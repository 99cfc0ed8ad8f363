/**
 * Browser tests' plumbing: a real `ferry start` child on a fixed loopback port (so it can be
 * restarted under an open page), the built dashboard, and Debian's Chromium through
 * playwright-core.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot, runNode, type Child } from './process.ts';

/** Builds web/dist when it is missing (a fresh clone that skipped install scripts). */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(repoRoot, 'web/dist/index.html'))) return;
  const built = spawnSync('npm', ['run', 'build:web'], { cwd: repoRoot, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build:web failed');
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** A running `ferry start`; `restart()` stops it (SIGTERM) and starts it again on the same port. */
export interface FerryServer {
  url: string;
  /** Printed on the very first start. */
  bootstrapKey: string;
  child: Child;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startFerry(env: Record<string, string>): Promise<FerryServer> {
  const port = await freePort();
  const fullEnv = { FERRY_HTTP_PORT: String(port), FERRY_HTTP_HOST: '127.0.0.1', ...env };
  let child = runNode('src/cli/main.ts', ['start'], fullEnv);
  const [, url = ''] = await child.waitFor(/listening on (http:\/\/\S+)/, 90_000);
  const [, bootstrapKey = ''] = await child.waitFor(/^\s+(fry_\S+)$/m, 10_000);
  const server: FerryServer = {
    url,
    bootstrapKey,
    get child() {
      return child;
    },
    async stop() {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
      child.proc.kill('SIGTERM');
      await child.exited;
    },
    async start() {
      child = runNode('src/cli/main.ts', ['start'], fullEnv);
      await child.waitFor(/listening on (http:\/\/\S+)/, 90_000);
    },
  };
  return server;
}

/**
 * `ferry start` on the embedded store in `dataDir` with one volume and quick polling: the
 * dashboard tests, its benchmark and the screenshot script run the same node.
 */
export function startDashboardFerry(
  dataDir: string,
  volume: string,
  env: Record<string, string> = {},
): Promise<FerryServer> {
  return startFerry({
    FERRY_DATA_DIR: dataDir,
    FERRY_DATABASE_URL: '',
    FERRY_VOLUMES: volume,
    FERRY_TRANSFERS_POLL_INTERVAL_SECONDS: '0.2',
    ...env,
  });
}

/** Headless Chromium from the Debian package. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A JSON request to the server with a credential. */
export async function call<T>(
  url: string,
  credential: string,
  method: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${credential}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Registers an account and returns an access token. */
export async function account(base: string, username: string, password: string): Promise<string> {
  const email = `${username}@example.com`;
  const reg = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, username, password }),
  });
  if (!reg.ok) throw new Error(`register ${username}: ${await reg.text()}`);
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return ((await login.json()) as { access_token: string }).access_token;
}
