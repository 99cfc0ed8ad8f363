/**
 * The SDK as the repository's own code imports it: through the package name (`ferry/client`,
 * package.json `exports`, the `ferry-source` condition), in vitest and in plain Node, standing
 * alone (nothing from the server side). The packed build as applications install it:
 * test/package.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FerryClient, FerryClientError, clientProtocol } from 'ferry/client';
import { repoRoot, sourceCondition } from './helpers/process.ts';

describe('the ferry/client package entry', () => {
  it('imports through the package name, with typed results', () => {
    const client = new FerryClient({ nodes: 'http://127.0.0.1:1', env: {}, live: false });
    expect(client.config.nodes).toEqual(['http://127.0.0.1:1']);
    expect(clientProtocol).toBe('1.0');
    expect(new FerryClientError('FERRY_CLIENT_ERR_TIMEOUT', 'x').retryable).toBe(true);
  });

  it('resolves in plain Node too', () => {
    const out = execFileSync(
      process.execPath,
      [
        sourceCondition,
        '--input-type=module',
        '-e',
        "const m = await import('ferry/client'); console.log(typeof m.FerryClient)",
      ],
      { cwd: repoRoot },
    );
    expect(out.toString().trim()).toBe('function');
  });

  it('exports the Node-only reporters apart', async () => {
    const { makeReporter } = await import('ferry/client/reporters');
    expect(typeof makeReporter).toBe('function');
  });

  it('imports nothing outside src/client (so it runs in browsers and other programs)', () => {
    const dir = path.join(repoRoot, 'src/client');
    // The reporters write files (Node only) with a maintained XML builder; the main entry never
    // imports them.
    const nodeOnly = new Set(['reporters.ts']);
    const files = readdirSync(dir).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !nodeOnly.has(f),
    );
    for (const file of files) {
      const source = readFileSync(path.join(dir, file), 'utf8');
      const specifiers = [...source.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map(
        (m) => m[1],
      );
      for (const s of specifiers)
        expect(s, `${file} imports ${String(s)}`).toMatch(/^\.\/[\w-]+\.ts$/);
      if (file === 'index.ts') expect(source).not.toContain('reporters');
    }
  });
});
