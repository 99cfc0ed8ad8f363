/**
 * Client commands against a running server: `ferry watch add|ls|pause|resume|rm` and
 * `ferry transfers ls|show`. Server from --server or FERRY_SERVER, key from --api-key or
 * FERRY_API_KEY (none needed where the server allows anonymous loopback access).
 */
import path from 'node:path';

export interface RemoteOptions {
  server: string | undefined;
  apiKey: string | undefined;
  json: boolean;
  settle: string | undefined;
  once: boolean;
  move: boolean;
  algorithm: string | undefined;
  status: string | undefined;
}

interface TransferView {
  id: number;
  status: string;
  source_path: string;
  destination_path: string;
  operation_mode: string;
  watch_mode_enabled: boolean;
  watch_cycle_count: number;
  progress_percent: number;
  error_message: string | null;
}

class RemoteError extends Error {}

async function call<T>(
  options: RemoteOptions,
  method: string,
  url: string,
  body?: object,
): Promise<T> {
  const base = options.server ?? process.env.FERRY_SERVER ?? 'http://127.0.0.1:8000';
  const key = options.apiKey ?? process.env.FERRY_API_KEY;
  let response: Response;
  try {
    response = await fetch(new URL(url, base), {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new RemoteError(
      `cannot reach the Ferry server at ${base}: ${(error as Error).message}\n  fix: start it (ferry start) or pass --server URL`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not Ferry answering (a proxy's error page, say): say what came back, briefly.
    throw new RemoteError(
      `${base} answered ${response.status} with a non-JSON body: ${text.slice(0, 200)}`,
    );
  }
  if (!response.ok) {
    const problem = parsed as { detail?: string; code?: string } | undefined;
    throw new RemoteError(
      `${problem?.detail ?? response.statusText} (${problem?.code ?? response.status})`,
    );
  }
  return parsed as T;
}

function line(t: TransferView): string {
  const kind = t.watch_mode_enabled
    ? `watch, ${t.watch_cycle_count} cycles`
    : `${Math.round(t.progress_percent)}%`;
  const error = t.error_message ? `  ! ${t.error_message}` : '';
  return `${String(t.id).padStart(5)}  ${t.status.padEnd(10)} ${t.operation_mode.padEnd(4)} ${t.source_path} → ${t.destination_path}  (${kind})${error}`;
}

function print(options: RemoteOptions, value: unknown, text: () => string): void {
  console.log(options.json ? JSON.stringify(value, null, 2) : text());
}

function idOf(arg: string | undefined): number {
  const id = Number(arg);
  if (!Number.isInteger(id) || id < 1)
    throw new RemoteError(`expected a transfer id, got '${arg ?? ''}'`);
  return id;
}

async function watch(
  sub: string | undefined,
  args: string[],
  options: RemoteOptions,
): Promise<number> {
  switch (sub) {
    case 'add': {
      const [src, dst] = args;
      if (!src || !dst)
        throw new RemoteError('usage: ferry watch add <source-folder> <destination-folder>');
      const created = await call<TransferView>(options, 'POST', '/api/v1/transfers', {
        source_path: path.resolve(src),
        destination_path: path.resolve(dst),
        watch_mode_enabled: true,
        watch_continuous: !options.once,
        operation_mode: options.move ? 'move' : 'copy',
        ...(options.settle === undefined ? {} : { settle_time_seconds: Number(options.settle) }),
        ...(options.algorithm === undefined ? {} : { checksum_algorithm: options.algorithm }),
      });
      print(options, created, () => `watching: ${line(created)}`);
      return 0;
    }
    case 'ls': {
      const list = await call<{ total: number; items: TransferView[] }>(
        options,
        'GET',
        '/api/v1/transfers?limit=1000',
      );
      const watches = list.items.filter((t) => t.watch_mode_enabled);
      print(options, watches, () =>
        watches.length ? watches.map(line).join('\n') : 'no watch profiles',
      );
      return 0;
    }
    case 'pause':
    case 'resume': {
      const result = await call<{ message: string }>(
        options,
        'POST',
        `/api/v1/transfers/${idOf(args[0])}/${sub}-watch`,
      );
      print(options, result, () => result.message);
      return 0;
    }
    case 'rm': {
      await call(options, 'DELETE', `/api/v1/transfers/${idOf(args[0])}`);
      print(options, { deleted: idOf(args[0]) }, () => `deleted watch profile ${args[0] ?? ''}`);
      return 0;
    }
  }
  throw new RemoteError('usage: ferry watch add|ls|pause|resume|rm');
}

async function transfers(
  sub: string | undefined,
  args: string[],
  options: RemoteOptions,
): Promise<number> {
  if (sub === 'ls') {
    const query = options.status ? `&status=${encodeURIComponent(options.status)}` : '';
    const list = await call<{ total: number; items: TransferView[] }>(
      options,
      'GET',
      `/api/v1/transfers?limit=100${query}`,
    );
    print(options, list, () =>
      list.items.length ? list.items.map(line).join('\n') : 'no transfers',
    );
    return 0;
  }
  if (sub === 'show') {
    const id = idOf(args[0]);
    const t = await call<TransferView>(options, 'GET', `/api/v1/transfers/${id}`);
    const sums = await call<{
      items: {
        file_path: string;
        source_checksum: string | null;
        checksum_match: boolean | null;
      }[];
      algorithm: string;
    }>(options, 'GET', `/api/v1/transfers/${id}/checksums`);
    print(options, { ...t, checksums: sums }, () =>
      [
        line(t),
        ...sums.items.map(
          (f) =>
            `       ${f.checksum_match ? 'ok ' : '-- '} ${sums.algorithm}:${f.source_checksum ?? '?'}  ${f.file_path}`,
        ),
      ].join('\n'),
    );
    return 0;
  }
  throw new RemoteError('usage: ferry transfers ls [--status S] | show <id>');
}

/** Runs a client command; errors print one line and exit 1. */
export async function runRemote(
  command: 'watch' | 'transfers',
  sub: string | undefined,
  args: string[],
  options: RemoteOptions,
): Promise<number> {
  try {
    return await (command === 'watch' ? watch(sub, args, options) : transfers(sub, args, options));
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    console.error(`ferry ${command}: ${error.message}`);
    return 1;
  }
}
