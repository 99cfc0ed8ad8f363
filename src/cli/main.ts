#!/usr/bin/env node
/** The `ferry` command: start, migrate, config print, version, cp, watch, transfers, jobs, cluster. */
import { parseArgs } from 'node:util';
import { makeFerry, makeLogger, version } from '../app/index.ts';
import { loadConfig, maskedConfig, type Config } from '../config/index.ts';
import { migrate, openStore } from '../db/index.ts';
import { errorCodes, FerryError, isFerryError, isStoreUnavailable } from '../errors/index.ts';
import { runCp } from './cp.ts';
import { runMhl } from './mhl.ts';
import { printConfig } from './print-config.ts';
import { runJobs } from './jobs.ts';
import { runRemote } from './remote.ts';
import { createAdmin } from './users.ts';

const usage = `ferry ${version} — verified file and event transport

Usage:
  ferry start [--port N] [--host H] [--data-dir DIR] [--role all|api|worker] [--config FILE]
  ferry migrate [--data-dir DIR] [--config FILE]
  ferry config print [--json] [--config FILE]
  ferry users create-admin --email E (--password P | --password-stdin) [--username U]
  ferry version
  ferry cp <src> <dst> [--move] [--algo xxh128|xxh3|xxh64|sha256|sha1|md5|blake3] [--conflict fail|skip_if_identical|overwrite|rename]
  ferry watch add <src-folder> <dst-folder> [--settle SECONDS] [--once] [--move] [--algo A]
  ferry watch ls | pause <id> | resume <id> | rm <id>
  ferry transfers ls [--status S] | show <id>
  ferry jobs submit <src> <dst> [--zone Z]... [--key K] [--wait] [--timeout S] [--move]
  ferry jobs ls [--status S] | show <id> | wait <id> [--timeout S] | cancel <id>
  ferry cluster nodes | zones | ping
  ferry mhl create <folder> [--hash md5|sha1|xxh64|xxh3|xxh128 ...] | verify <folder> | info <folder>

  cp and mhl run in this process (no server). watch, transfers, jobs and cluster talk to running
  servers: --server URL[,URL…] (or FERRY_SERVER, default http://127.0.0.1:8000), --api-key KEY
  (or FERRY_API_KEY); jobs and cluster use the client SDK (docs/sdk.md).

Configuration: defaults → ferry.config.{yaml,json} → FERRY_* env → flags (docs/configuration.md).`;

const options = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  role: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  email: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  move: { type: 'boolean' },
  algo: { type: 'string' },
  conflict: { type: 'string' },
  settle: { type: 'string' },
  once: { type: 'boolean' },
  status: { type: 'string' },
  server: { type: 'string' },
  'api-key': { type: 'string' },
  hash: { type: 'string', multiple: true },
  zone: { type: 'string', multiple: true },
  key: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }
  const load = (): Config =>
    loadConfig({
      file: values.config,
      flags: {
        'http.port': values.port,
        'http.host': values.host,
        data_dir: values['data-dir'],
        role: values.role,
      },
    });
  switch (command) {
    case 'version':
      console.log(version);
      return 0;
    case 'config':
      if (sub !== 'print') break;
      printConfig(maskedConfig(load()), values.json === true);
      return 0;
    case 'migrate':
      return runMigrate(load());
    case 'users':
      if (sub !== 'create-admin') break;
      return createAdmin(load(), {
        email: values.email,
        username: values.username,
        password: values.password,
        passwordStdin: values['password-stdin'] === true,
      });
    case 'start':
      return runStart(load());
    case 'cp': {
      const [, src, dst] = positionals;
      if (!src || !dst) break;
      return runCp(src, dst, {
        move: values.move === true,
        algorithm: values.algo,
        conflict: values.conflict,
        out: process.stderr,
      });
    }
    case 'mhl': {
      const code = await runMhl(sub, positionals[2], {
        hashes: values.hash ?? [],
        json: values.json === true,
        out: (line) => {
          console.log(line);
        },
      });
      if (code !== 2) return code;
      break;
    }
    case 'jobs':
    case 'cluster':
      return runJobs(command, sub, positionals.slice(2), {
        server: values.server,
        apiKey: values['api-key'],
        json: values.json === true,
        status: values.status,
        zones: values.zone ?? [],
        key: values.key,
        wait: values.wait === true,
        timeout: values.timeout,
        move: values.move === true,
      });
    case 'watch':
    case 'transfers':
      return runRemote(command, sub, positionals.slice(2), {
        server: values.server,
        apiKey: values['api-key'],
        json: values.json === true,
        settle: values.settle,
        once: values.once === true,
        move: values.move === true,
        algorithm: values.algo,
        status: values.status,
      });
  }
  console.error(`ferry: unknown command '${positionals.join(' ')}'\n\n${usage}`);
  return 2;
}

async function runMigrate(config: Config): Promise<number> {
  const store = await openStore(config, () => undefined);
  try {
    const applied = await migrate(store.db);
    console.log(
      applied.length ? `applied migrations ${applied.join(', ')}` : 'store is up to date',
    );
    return 0;
  } finally {
    await store.close();
  }
}

async function runStart(config: Config): Promise<number> {
  const ferry = makeFerry(config, { logger: makeLogger(config) });
  const stopped = new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        console.error(`ferry: ${signal} again — exiting now`);
        process.exit(1);
      }
      console.log(
        `ferry: ${signal} received — finishing in-flight work (second signal forces exit)`,
      );
      // The job and HTTP drains are bounded; this is the backstop if something hangs anyway.
      const limit =
        Math.max(config.jobs.shutdown_timeout_ms, config.http.shutdown_timeout_ms) + 4000;
      setTimeout(() => {
        console.error('ferry: shutdown took too long — exiting');
        process.exit(1);
      }, limit).unref();
      ferry.stop().then(
        () => {
          resolve(0);
        },
        (error: unknown) => {
          console.error('ferry: error during shutdown:', error);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const info = await ferry.start();
  console.log(`Ferry ${version} listening on ${info.url ?? '(no HTTP)'} (role ${config.role})`);
  if (info.store === 'pglite') {
    console.log(`  store: embedded PGlite, data in ${info.location}`);
    console.log(
      '  note: the embedded store is for one process on one machine; set DATABASE_URL to use PostgreSQL (docs/stores.md)',
    );
  } else {
    console.log(`  store: PostgreSQL at ${info.location}`);
  }
  if (info.store === 'pglite' && config.role === 'api') {
    console.log(
      '  warning: role api on the embedded store runs no job workers, and no other process can',
    );
  }
  if (config.auth.anonymous === 'loopback') {
    console.log(
      '  warning: auth.anonymous=loopback — any local process can act as admin without a key',
    );
  }
  if (info.bootstrapKey) {
    console.log(
      `\n  Bootstrap admin API key (shown once, store it now):\n    ${info.bootstrapKey}\n`,
    );
  }
  return stopped;
}

/** Start-up failures a user can fix get a registered code; anything else is a bug report. */
function explain(error: unknown): unknown {
  if (isFerryError(error)) return error;
  const { code, address, port } = error as { code?: string; address?: string; port?: number };
  if (code === 'EADDRINUSE') {
    return new FerryError('FERRY_ERR_PORT_IN_USE', { address: `${address ?? ''}:${port ?? ''}` });
  }
  if (isStoreUnavailable(error)) {
    console.error(`ferry: cannot reach PostgreSQL: ${(error as Error).message}`);
    return new FerryError('FERRY_ERR_STORE_UNAVAILABLE');
  }
  return error;
}

function report(failure: unknown): void {
  const error = explain(failure);
  if (isFerryError(error)) {
    console.error(`ferry: ${error.message}`);
    console.error(`  fix: ${errorCodes[error.code].fix}`);
  } else {
    console.error('ferry: unexpected error:', error);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    report(error);
    process.exitCode = 1;
  },
);
