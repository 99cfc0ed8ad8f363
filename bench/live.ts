/**
 * The live channel over real WebSockets on loopback, against a bare `ws` server measured in the
 * same run (it authenticates nothing, stores nothing and sends one hello): connect time; the
 * time to reconnect and get a 1,000-entry conversation history back (from memory, and from the
 * store after the memory window); server memory after 10 reconnect cycles against after the
 * first; and memory per idle session at 10,000 sessions, the clients in a separate process.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import websocket from '@fastify/websocket';
import Fastify from 'fastify';
import WebSocket, { WebSocketServer } from 'ws';
import { makeFerry, type Ferry } from '../src/app/ferry.ts';
import type { StoreKind } from '../src/db/index.ts';
import { adminUrlShown, postgresProblem, testEnv } from '../test/helpers/stores.ts';
import type { Benchmark, Report } from './run.ts';

const connects = 300;
const restoreRounds = 30;
const historyEntries = 1000;
const cycles = 10;
const idleSessions = 10_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap after two full collections, in bytes. */
function settledMemory(): { heap: number; external: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

/** Opens a socket and resolves once `until` accepts a message; the time covers both. */
function openUntil(
  url: string,
  headers: Record<string, string>,
  send: string[],
  until: (message: string) => boolean,
): Promise<{ ws: WebSocket; ms: number; first: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    let first = '';
    ws.on('open', () => {
      for (const text of send) ws.send(text);
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      first ||= text;
      if (until(text)) resolve({ ws, ms: performance.now() - started, first });
    });
    ws.once('error', reject);
    ws.once('close', (code) => {
      reject(new Error(`closed with ${code} before the expected message`));
    });
  });
}

function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => {
      resolve();
    });
    ws.close();
  });
}

/** The peer: a bare ws server that greets every connection once. */
async function bareServer(): Promise<{ url: string; server: WebSocketServer }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => {
    server.once('listening', () => {
      resolve();
    });
  });
  server.on('connection', (ws) => {
    ws.send('{"type":"hello"}');
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected address');
  return { url: `ws://127.0.0.1:${address.port}/`, server };
}

async function bareConnects(url: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const { ws, ms } = await openUntil(url, {}, [], () => true);
    times.push(ms);
    await closeSocket(ws);
  }
  return times;
}

interface Target {
  ferry: Ferry;
  url: string;
  headers: Record<string, string>;
  /** Moves the node's clock forward (past the memory window). */
  skip(ms: number): void;
  /** Size of the last history reply, for the notes. */
  lastReplyBytes: number;
}

const isEstablished = (text: string) => text.startsWith('{"type":"connection_established"');

async function measureConnect(report: Report, name: string, t: Target, peerUrl: string) {
  const ours: number[] = [];
  for (let i = 0; i < connects; i++) {
    const { ws, ms } = await openUntil(t.url, t.headers, [], isEstablished);
    ours.push(ms);
    await closeSocket(ws);
  }
  const peer = await bareConnects(peerUrl, connects);
  for (const [label, p] of [
    ['p50', 0.5],
    ['p99', 0.99],
  ] as const) {
    report.figure(
      `${name}.connect.${label}`,
      { value: percentile(ours, p), unit: 'ms' },
      { name: 'bare ws connect', value: percentile(peer, p), unit: 'ms' },
    );
  }
}

/** A session with a 1,000-entry history; returns its token. */
async function sessionWithHistory(t: Target): Promise<string> {
  const { ws, first } = await openUntil(t.url, t.headers, [], isEstablished);
  const token = (JSON.parse(first) as { payload: { session_token: string } }).payload.session_token;
  const commands = historyEntries / 2;
  let replies = 0;
  const done = new Promise<void>((resolve, reject) => {
    ws.on('message', () => {
      if (++replies === commands) resolve();
    });
    ws.once('close', (code) => {
      reject(new Error(`closed with ${code} while building the history`));
    });
  });
  for (let i = 0; i < commands; i++) {
    ws.send(JSON.stringify({ type: 'set_context', payload: { variables: { step: i } }, id: i }));
  }
  await done;
  await closeSocket(ws);
  return token;
}

/** One reconnect: until the history reply arrived; waits for the node to record the close. */
async function reconnectAndRestore(t: Target, token: string): Promise<number> {
  const url = `${t.url}?session_token=${token}`;
  const ask = JSON.stringify({ type: 'get_conversation_history', id: 'h' });
  const { ws, ms } = await openUntil(url, t.headers, [ask], (m) => {
    if (!m.includes('"id":"h"')) return false;
    t.lastReplyBytes = Buffer.byteLength(m);
    return true;
  });
  const gone = t.ferry.bus.next('live:disconnected');
  await closeSocket(ws);
  await gone;
  return ms;
}

async function measureRestore(report: Report, name: string, t: Target, peerUrl: string) {
  const token = await sessionWithHistory(t);
  const memory: number[] = [];
  const store: number[] = [];
  for (let i = 0; i < restoreRounds; i++) memory.push(await reconnectAndRestore(t, token));
  for (let i = 0; i < restoreRounds; i++) {
    t.skip(31_000);
    store.push(await reconnectAndRestore(t, token));
  }
  const peer = await bareConnects(peerUrl, restoreRounds);
  const peerFigure = {
    name: 'bare ws reconnect, no restore',
    value: percentile(peer, 0.5),
    unit: 'ms',
  };
  report.figure(
    `${name}.reconnect_restore_1000.memory.p50`,
    { value: percentile(memory, 0.5), unit: 'ms' },
    peerFigure,
  );
  report.figure(
    `${name}.reconnect_restore_1000.store.p50`,
    { value: percentile(store, 0.5), unit: 'ms' },
    peerFigure,
  );
  report.note(
    `${name}.reconnect_restore_1000: p99 memory ${percentile(memory, 0.99).toFixed(2)} ms, ` +
      `store ${percentile(store, 0.99).toFixed(2)} ms (peer ${percentile(peer, 0.99).toFixed(2)} ms); ` +
      `the history reply is ${(t.lastReplyBytes / 1024).toFixed(0)} KiB`,
  );
}

async function measureCycles(report: Report, name: string, t: Target) {
  const token = await sessionWithHistory(t);
  const after: number[] = [];
  const hub = t.ferry.live.hub;
  for (let i = 1; i <= cycles; i++) {
    await reconnectAndRestore(t, token);
    after.push(settledMemory().heap);
  }
  const first = after[0] ?? Number.NaN;
  report.figure(
    `${name}.memory_after_${cycles}_cycles`,
    { value: (after.at(-1) ?? Number.NaN) / 1048576, unit: 'MiB heap' },
    { name: 'after the first cycle', value: first / 1048576, unit: 'MiB heap' },
  );
  const stats = hub?.stats();
  report.note(
    `${name}: after ${cycles} cycles the hub holds ${stats?.sessionsHeld ?? 0} sessions, ` +
      `${stats?.outboxMessages ?? 0} buffered messages, ${stats?.historyEntries ?? 0} history entries`,
  );
}

/** Server memory per connection with `count` idle clients held by a child process. */
async function perConnection(
  url: string,
  count: number,
  token?: string,
): Promise<{ js: number; rss: number; opened: number }> {
  const before = settledMemory();
  const script = fileURLToPath(new URL('./live-clients.ts', import.meta.url));
  const child = spawn(process.execPath, [script, url, String(count), ...(token ? [token] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => {
      reject(new Error(`client process exited with ${code}`));
    });
  });
  const opened = Number(/ready (\d+)/.exec(line)?.[1] ?? 0);
  const after = settledMemory();
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  const js = after.heap + after.external - before.heap - before.external;
  return { js: js / opened, rss: (after.rss - before.rss) / opened, opened };
}

/** A second peer: Fastify with @fastify/websocket, a route that greets once (the framework cost). */
async function fastifyServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify();
  await app.register(websocket);
  app.get('/', { websocket: true }, (socket) => {
    socket.send('{"type":"hello"}');
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: url.replace('http', 'ws'), close: () => app.close() };
}

async function measureIdle(report: Report, name: string, t: Target, peerUrl: string, key: string) {
  // Peers first: Ferry's sessions stay in memory for the memory window after their close.
  const peer = await perConnection(peerUrl, idleSessions);
  const framework = await fastifyServer();
  const fastify = await perConnection(framework.url, idleSessions);
  await framework.close();
  const ours = await perConnection(t.url, idleSessions, key);
  const unit = 'KiB (heap+external)';
  report.figure(
    `${name}.memory_per_idle_session_at_${idleSessions}`,
    { value: ours.js / 1024, unit },
    { name: 'bare ws connection', value: peer.js / 1024, unit },
  );
  report.figure(
    `${name}.memory_per_idle_session_at_${idleSessions}`,
    { value: ours.js / 1024, unit },
    { name: 'fastify + @fastify/websocket connection', value: fastify.js / 1024, unit },
  );
  const rss = (r: { rss: number }) => `${(r.rss / 1024).toFixed(1)} KiB`;
  report.note(
    `${name}: ${ours.opened} sessions opened (peers ${peer.opened}, ${fastify.opened}); RSS per ` +
      `connection ${rss(ours)} (bare ws ${rss(peer)}, fastify ${rss(fastify)})`,
  );
}

async function runOn(kind: StoreKind, report: Report, full: boolean): Promise<void> {
  if (kind === 'postgres') {
    const problem = await postgresProblem();
    if (problem !== undefined) {
      report.note(
        `live.postgres: skipped, PostgreSQL at ${adminUrlShown} unreachable (${problem})`,
      );
      return;
    }
  }
  const env = await testEnv(kind, {
    FERRY_LIVE_CONNECTIONS_PER_USER: String(idleSessions * 2),
    FERRY_LIVE_HISTORY_LIMIT: String(historyEntries),
    FERRY_LIVE_MESSAGES_PER_MINUTE: '100000',
  });
  const skew = { ms: 0 };
  const ferry = makeFerry(env.config, { now: () => new Date(Date.now() + skew.ms) });
  const peer = await bareServer();
  try {
    const info = await ferry.start();
    const key = info.bootstrapKey ?? '';
    const target: Target = {
      ferry,
      url: `${(info.url ?? '').replace('http', 'ws')}/api/v1/live`,
      headers: { authorization: `Bearer ${key}` },
      skip: (ms) => (skew.ms += ms),
      lastReplyBytes: 0,
    };
    const name = `live.${kind}`;
    await measureConnect(report, name, target, peer.url);
    await measureRestore(report, name, target, peer.url);
    if (full) {
      await measureCycles(report, name, target);
      await measureIdle(report, name, target, peer.url, key);
    }
  } finally {
    await new Promise<void>((resolve) => {
      peer.server.close(() => {
        resolve();
      });
    });
    await ferry.stop();
    await env.cleanup();
  }
}

/** The live channel on PGlite (all figures) and PostgreSQL (connect and restore). */
export const liveBenchmark: Benchmark = {
  name: 'live',
  description:
    `in-process Ferry, real WebSockets on loopback, beside a bare ws server in the same run: ` +
    `${connects} connects; ${restoreRounds} reconnects restoring a ${historyEntries}-entry history ` +
    `from memory and from the store; heap after ${cycles} reconnect cycles; memory per idle ` +
    `session at ${idleSessions} sessions (clients in a child process)`,
  async run(report) {
    await runOn('pglite', report, true);
    await runOn('postgres', report, false);
  },
};
