#!/usr/bin/env node
// The `ferry` command as installed from the package: runs the compiled CLI (dist/) on the Node 24
// the package depends on (the `node` package), whatever `node` comes first on PATH — pg-boss
// needs 22.12 or later. Plain JavaScript that any Node can start.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const main = path.join(here, '..', 'dist', 'cli', 'main.js');

/** The Node binary the `node` dependency installed, or undefined when it is missing. */
function bundledNode() {
  try {
    const require = createRequire(import.meta.url);
    const bin = path.join(path.dirname(require.resolve('node/package.json')), 'bin', 'node');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const child = spawn(bundledNode() ?? process.execPath, [main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// The CLI stops gracefully on these; pass them on and exit the way it did.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
