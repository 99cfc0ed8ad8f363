/**
 * Soak: memory under repeated abuse. Ferry runs as its own process (`ferry start`, embedded
 * store); autocannon in this process sends five rounds of the attack run's mix — event submits,
 * out-of-range ids, non-finite paging, NUL and lone-surrogate bodies, events nested 1,000 and
 * 10,000 deep, unknown routes, forged tokens, logins with ever-new usernames — and the server's
 * RSS is read from /proc after each round. The peer is round 1: after five rounds RSS should be
 * within 10% of it (issue 10).
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Request } from 'autocannon';
import { runNode } from '../test/helpers/process.ts';
import { tempDir } from '../test/helpers/stores.ts';
import type { Benchmark, Report } from './run.ts';

const rounds = 5;
const roundSeconds = 15;
const connections = 16;

/** Resident set size of a process, in MB (Linux). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) / 1024;
}

const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const event = (payload: string) =>
  `{"event_name":"soak","event_type":"t","payload":${payload},"properties":{"n":1}}`;

/** The mixed load: one list that autocannon cycles through, per connection. */
function requests(key: string): Request[] {
  const json = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const admin = { authorization: `Bearer ${key}` };
  let n = 0;
  return [
    { method: 'POST', path: '/api/v1/events', headers: json, body: event('{"path":"/x"}') },
    { method: 'GET', path: '/api/v1/transfers/Infinity', headers: admin },
    { method: 'GET', path: '/api/v1/events?offset=1e19', headers: admin },
    { method: 'DELETE', path: '/api/v1/api-keys/2147483648', headers: admin },
    { method: 'POST', path: '/api/v1/api-keys', headers: json, body: '{"name":"a\\u0000"}' },
    { method: 'POST', path: '/api/v1/events', headers: json, body: event(nested(1_000)) },
    { method: 'POST', path: '/api/v1/events', headers: json, body: event(nested(10_000)) },
    { method: 'GET', path: '/api/v1/transfers/%ED%A0%80', headers: admin },
    { method: 'GET', path: '/no/such/route' },
    { method: 'GET', path: '/api/v1/transfers', headers: { authorization: 'Bearer forged.jwt.x' } },
    {
      method: 'POST',
      path: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      setupRequest(request: Request): Request {
        n += 1;
        return { ...request, body: `{"username":"nobody${String(n)}","password":"x"}` };
      },
    },
  ];
}

async function soak(report: Report): Promise<void> {
  const data = tempDir('ferry-soak-');
  const server = runNode('src/cli/main.ts', ['start'], {
    FERRY_DATA_DIR: data.dir,
    FERRY_HTTP_PORT: '0',
    FERRY_LOG_LEVEL: 'warn',
  });
  try {
    const [, url = ''] = await server.waitFor(/listening on (http:\/\/\S+)/, 120_000);
    const [, key = ''] = await server.waitFor(/(fry_\S+)/, 10_000);
    const pid = server.proc.pid ?? 0;
    report.note(`server pid ${String(pid)} at ${url}; RSS before load ${rssMb(pid).toFixed(0)} MB`);
    const mix = requests(key);
    let first = 0;
    let last = 0;
    for (let round = 1; round <= rounds; round += 1) {
      const result = await autocannon({ url, connections, duration: roundSeconds, requests: mix });
      last = rssMb(pid);
      if (round === 1) first = last;
      const codes = Object.entries(result.statusCodeStats)
        .map(([code, s]) => `${code}×${String(s.count)}`)
        .join(' ');
      const fives = Object.entries(result.statusCodeStats)
        .filter(([code]) => code.startsWith('5'))
        .reduce((sum, [, s]) => sum + s.count, 0);
      report.note(
        `round ${String(round)}: ${String(result.requests.total)} requests (${codes}), ` +
          `${String(fives)} answers 5xx, ${String(result.errors)} errors; RSS ${last.toFixed(0)} MB`,
      );
    }
    report.figure(
      'soak RSS after 5 rounds',
      { value: last, unit: 'MB' },
      {
        name: 'after round 1',
        value: first,
        unit: 'MB',
      },
    );
    report.note(last <= first * 1.1 ? 'within 10% of round 1' : 'MORE than 10% above round 1');
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
    data.remove();
  }
}

export const soakBenchmark: Benchmark = {
  name: 'soak',
  description: `server RSS over ${String(rounds)} rounds of ${String(roundSeconds)} s mixed abuse (separate process)`,
  run: soak,
};
