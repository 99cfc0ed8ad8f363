/** What the transfer crash tests share: a JSON call to a node, and a node's environment. */
import { runNode, until, type Child } from './process.ts';
import { freshDatabase, tempDir } from './stores.ts';

/** Calls a node's API; the JSON answer. */
export async function api<T>(url: string, method = 'GET', body?: object): Promise<T> {
  const response = await fetch(url, {
    method,
    ...(body
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  return (await response.json()) as T;
}

/**
 * A node's environment: its own data dir (and database on postgres), one volume, quick
 * retries. What it creates is removed by the `cleanups` it is given.
 */
export async function crashNodeEnv(
  kind: string,
  volume: string,
  cleanups: (() => Promise<void> | void)[],
): Promise<Record<string, string>> {
  const data = tempDir('ferry-crash-data-');
  cleanups.push(data.remove);
  const database = kind === 'postgres' ? await freshDatabase() : undefined;
  if (database) cleanups.push(database.drop);
  return {
    FERRY_DATA_DIR: data.dir,
    FERRY_DATABASE_URL: database?.url ?? '',
    FERRY_HTTP_PORT: '0',
    FERRY_VOLUMES: volume,
    FERRY_AUTH_ANONYMOUS: 'loopback',
    FERRY_JOBS_RETRY_DELAY_SECONDS: '0',
    FERRY_JOBS_HEARTBEAT_SECONDS: '10',
  };
}

/**
 * Starts a node again on `env` (tracked in `children`) and waits until transfer `id` ends;
 * the node, its URL and the transfer as it ended.
 */
export async function restartUntilEnded(
  env: Record<string, string>,
  children: Child[],
  id: number,
): Promise<{ node: Child; url: string; ended: { status: string; error_message: string | null } }> {
  const node = runNode('src/cli/main.ts', ['start'], env);
  children.push(node);
  const [, url = ''] = await node.waitFor(/listening on (http:\/\/\S+)/, 60_000);
  const ended = await until(async () => {
    const t = await api<{ status: string; error_message: string | null }>(
      `${url}/api/v1/transfers/${String(id)}`,
    );
    return ['completed', 'failed'].includes(t.status) ? t : undefined;
  }, 'the transfer to finish after restart');
  return { node, url, ended };
}
