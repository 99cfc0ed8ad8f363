/**
 * Logs a person can read: `ferry start` writes JSON to a pipe and pretty lines when asked, and
 * requests appear only at `debug`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveLogFormat } from '../src/app/logger.ts';
import { runNode, type Child } from './helpers/process.ts';
import { storeKinds, testEnv, type TestEnv } from './helpers/stores.ts';

const children: Child[] = [];
const envs: TestEnv[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await child.exited;
  }
  for (const env of envs.splice(0)) await env.cleanup();
});

/** Starts a node with `log` settings, asks /health once, stops it; returns its whole stdout. */
async function startAndAsk(kind: (typeof storeKinds)[number], log: Record<string, string>) {
  const env = await testEnv(kind);
  envs.push(env);
  const node = runNode('src/cli/main.ts', ['start'], {
    FERRY_DATA_DIR: env.dataDir,
    FERRY_DATABASE_URL: env.databaseUrl,
    FERRY_HTTP_PORT: '0',
    ...log,
  });
  children.push(node);
  const [, url] = await node.waitFor(/listening on (http:\/\/\S+)/, 45_000);
  expect((await fetch(`${url}/health`)).status).toBe(200);
  node.proc.kill('SIGTERM');
  expect(await node.exited).toBe(0);
  return node.stdout();
}

/** stdout lines pino wrote (the CLI's own start-up lines start with `Ferry`, a space or `ferry:`). */
function logLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line !== '' && !/^(Ferry |\s|ferry: )/.test(line));
}

describe.each(storeKinds)('log output of ferry start on %s', (kind) => {
  it('writes JSON to a pipe under auto, and no request lines at info', async () => {
    const stdout = await startAndAsk(kind, { FERRY_LOG_LEVEL: 'info' });
    expect(stdout).toMatch(/^Ferry \S+ listening on http:/m); // start-up messages as before
    const lines = logLines(stdout);
    expect(lines.length).toBeGreaterThan(0);
    const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(records.every((r) => r.level >= 30)).toBe(true);
    expect(records.map((r) => r.msg)).not.toContain('request completed');
    expect(stdout).not.toMatch(/\/health/);
  });

  it('writes pretty lines with log.format=pretty, and each request at debug', async () => {
    const stdout = await startAndAsk(kind, {
      FERRY_LOG_FORMAT: 'pretty',
      FERRY_LOG_LEVEL: 'debug',
    });
    expect(stdout).toMatch(/^Ferry \S+ listening on http:/m);
    const lines = logLines(stdout);
    expect(lines.length).toBeGreaterThan(0);
    // Pretty: `[time] LEVEL: message`, never a JSON object per line.
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(stdout).toMatch(/^\[[\d:.]+\] DEBUG: request completed/m);
    expect(stdout).toMatch(/"url": "\/health"/);
  });
});

describe('log.format', () => {
  it('auto is pretty on a terminal and JSON otherwise; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});
