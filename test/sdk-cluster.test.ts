/**
 * The SDK against a real three-node cluster on PostgreSQL (`ferry start` processes, zones `eu`
 * with two nodes and `us` with one): the quick start as written, an owner SIGKILLed mid-job, the
 * node the client first talked to dying, a resubmission with the same idempotency key (also from
 * a client process SIGKILLed mid-submit), a zone's only node dying (orphaned, re-attached),
 * protocol majors, and the WebSocket cut (polling, then pushes again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FerryClient,
  FerryClientError,
  type FerryClientOptions,
  type JobState,
  type LeaderTransfer,
  type FetchLike,
  type WebSocketLike,
} from 'ferry/client';
import { makeFerryCluster, until } from './helpers/ferry-cluster.ts';
import { runNode } from './helpers/process.ts';
import { storeKinds } from './helpers/stores.ts';

describe.runIf(storeKinds.includes('postgres'))('the SDK on a three-node cluster', () => {
  const cluster = makeFerryCluster();
  const clients: FerryClient[] = [];
  const urls = () => [...cluster.nodes.values()].map((n) => n.url);
  /** A client of the cluster (every node unless `nodes` says otherwise), stopped after the tests. */
  function client(options: Partial<FerryClientOptions> = {}) {
    const made = new FerryClient({
      nodes: urls(),
      env: {},
      pollIntervalMs: 200,
      pingIntervalMs: 500,
      ...options,
    });
    clients.push(made);
    return made;
  }

  beforeAll(() => cluster.setup(), 180_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await cluster.teardown();
  });

  it('submits a transfer and waits for its result (the quick start), following it by pushes', async () => {
    const ferry = client({ zone: 'eu' });
    const live: boolean[] = [];
    ferry.on('live', (e) => live.push(e.open));
    const statuses: string[] = [];
    const spec = cluster.folder('eu', 'quick', 3);
    const job = await ferry.submit(
      { kind: 'transfer', spec },
      { onStatus: (s) => statuses.push(s.status) },
    );
    const final = await ferry.wait(job.jobId, { timeoutMs: 60_000 });
    expect(final.status).toBe('completed');
    expect(statuses.at(-1)).toBe('completed');
    expect(live).toContain(true);
    cluster.verified(spec);
    // Zone preference: the eu nodes took the calls.
    const eu = [...cluster.nodes.values()].filter((n) => n.name !== 'c').map((n) => n.url);
    expect(eu).toContain(job.node);
  }, 120_000);

  it('an owner SIGKILLed mid-job: the SDK reports the leader transfer and the result arrives once', async () => {
    const ferry = client();
    const transfers: LeaderTransfer[] = [];
    let finals = 0;
    const spec = cluster.folder('eu', 'kill', 120);
    const job = await ferry.submit(
      { kind: 'transfer', spec, zones: ['eu'] },
      { onLeaderTransfer: (t) => transfers.push(t), onFinal: () => (finals += 1) },
    );
    const owner = await until('the eu part mid-copy', async () => {
      const done = (await cluster.files(`${job.jobId}:eu`)).filter((f) => f.status === 'completed');
      const url = ferry.status(job.jobId)?.zones.eu?.url;
      return done.length > 0 && url ? url : undefined;
    });
    const victim = [...cluster.nodes.values()].find((n) => n.url === owner);
    if (!victim) throw new Error(`no node at ${owner}`);
    await cluster.kill(victim);
    const final = await ferry.wait(job.jobId, { timeoutMs: 120_000 });
    expect(final.status).toBe('completed');
    expect(finals).toBe(1);
    const survivor = [...cluster.nodes.values()].find((n) => n.name !== 'c');
    expect(transfers.at(-1)).toMatchObject({ zone: 'eu', url: survivor?.url, fenceToken: 2 });
    expect(final.zones.eu).toMatchObject({ url: survivor?.url, fenceToken: 2 });
    cluster.verified(spec);
    await cluster.start(victim.name, 'eu');
  }, 240_000);

  it('the node the client first talked to dies: the SDK moves on; the same key after a restart is one job', async () => {
    const [first, ...others] = [...cluster.nodes.values()].filter((n) => n.name !== 'c');
    if (!first) throw new Error('no eu node');
    const ferry = client({ nodes: [first.url, ...others.map((n) => n.url)] });
    const pinged = await ferry.pingAll();
    expect(pinged[0]).toMatchObject({ node: first.url, ok: true, zone: 'eu' });
    await cluster.kill(first);
    const spec = cluster.folder('eu', 'moved', 2);
    const key = `moved-${String(Date.now())}`;
    const job = await ferry.submit(
      { kind: 'transfer', spec, zones: ['eu'] },
      { idempotencyKey: key },
    );
    expect(job.node).not.toBe(first.url);
    // A restarted process (a new client) submits again with the key it had stored: one job.
    const restarted = client();
    const again = await restarted.submit(
      { kind: 'transfer', spec, zones: ['eu'] },
      { idempotencyKey: key },
    );
    expect(again.jobId).toBe(job.jobId);
    const { rows } = await cluster.db.query(
      `SELECT id FROM ferry.cluster_jobs WHERE idempotency_key = $1`,
      [key],
    );
    expect(rows).toHaveLength(1);
    expect((await restarted.wait(job.jobId, { timeoutMs: 60_000 })).status).toBe('completed');
    cluster.verified(spec);
    await cluster.start(first.name, 'eu');
  }, 240_000);

  it('the live channel’s node dies: the session resumes on another node and no item is missed', async () => {
    const ferry = client({ zone: 'eu' });
    const live: boolean[] = [];
    ferry.on('live', (e) => live.push(e.open));
    await ferry.start();
    await until('the live channel open', async () => (ferry.liveStatus().open ? true : undefined));
    const cut = ferry.liveStatus().node;
    const victim = [...cluster.nodes.values()].find((n) => n.url === cut);
    if (!victim) throw new Error(`no node at ${String(cut)}`);
    let finals = 0;
    const spec = cluster.folder('eu', 'cut', 60);
    const job = await ferry.submit(
      { kind: 'transfer', spec, zones: ['eu'] },
      { onFinal: () => (finals += 1) },
    );
    await cluster.kill(victim);
    try {
      await until('the live channel back on another node', async () => {
        const now = ferry.liveStatus();
        return now.open && now.node !== cut ? true : undefined;
      });
      const final = await ferry.wait(job.jobId, { timeoutMs: 120_000 });
      expect(final.status).toBe('completed');
      expect(finals).toBe(1);
      // Open, closed (possibly through several reconnect attempts), open again.
      expect(live[0]).toBe(true);
      expect(live.indexOf(true, live.indexOf(false))).toBeGreaterThan(0);
      // Every file's result arrives, by push or by the resumed session's replay — a job that
      // ended during the outage was seen final by a poll, and its items come with the replay.
      await until('all 60 item results', async () =>
        ferry.status(job.jobId)?.zones.eu?.items === 60 ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(ferry.status(job.jobId)?.zones.eu?.items).toBe(60);
      cluster.verified(spec);
    } finally {
      // The next tests need all three nodes, whatever happened here.
      await cluster.start(victim.name, victim.name === 'c' ? 'us' : 'eu');
    }
  }, 240_000);

  it('ferry jobs and ferry cluster commands work through the SDK', async () => {
    const ferry = async (...args: string[]) => {
      const child = runNode('src/cli/main.ts', args, { FERRY_SERVER: urls().join(',') });
      const code = await child.exited;
      return { code, stdout: child.stdout(), stderr: child.stderr() };
    };
    const spec = cluster.folder('eu', 'cli', 2);
    const submitted = await ferry(
      'jobs',
      'submit',
      spec.source_path,
      spec.destination_path,
      '--zone',
      'eu',
      '--wait',
      '--json',
    );
    // Progress and the part's owner go to stderr; the result to stdout.
    expect(submitted.stderr).toMatch(/eu: now on http:\/\/127\.0\.0\.1:\d+ \(token 1\)/);
    expect(submitted.code).toBe(0);
    const final = JSON.parse(submitted.stdout) as { jobId: string; status: string };
    expect(final.status).toBe('completed');
    cluster.verified(spec);
    const cancel = await ferry('jobs', 'cancel', final.jobId);
    expect(cancel.stdout).toContain('already_completed');
    const shown = await ferry('jobs', 'show', final.jobId);
    expect(shown.stdout).toMatch(/completed/);
    const listed = await ferry('jobs', 'ls', '--status', 'completed');
    expect(listed.stdout).toContain(final.jobId);
    const nodes = await ferry('cluster', 'nodes', '--json');
    expect((JSON.parse(nodes.stdout) as { total: number }).total).toBeGreaterThanOrEqual(3);
    const ping = await ferry('cluster', 'ping');
    expect(ping.code).toBe(0);
    expect(ping.stdout.split('\n').filter((l) => / ok /.test(l))).toHaveLength(3);
    const missing = await ferry('jobs', 'show', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/FERRY_ERR_JOB_NOT_FOUND/);
  }, 120_000);

  it('a rate-limit storm: every submission accepted once, Retry-After honoured', async () => {
    // A fourth node with a tiny limit; the client talks to it alone.
    const limited = await cluster.start('d', 'us', {
      FERRY_LIMITS_REQUESTS_PER_SECOND: '4',
      FERRY_LIMITS_BURST: '8',
    });
    const log = new Map<
      string,
      { sent: number; answered: number; status: number; retryAfter: number }[]
    >();
    const fetchLogged: typeof fetch = async (input, init) => {
      const body =
        typeof init?.body === 'string'
          ? (JSON.parse(init.body) as { idempotency_key?: string })
          : {};
      const sent = Date.now();
      const response = await fetch(input, init);
      const key = body.idempotency_key;
      if (key !== undefined) {
        const entries = log.get(key) ?? [];
        entries.push({
          sent,
          answered: Date.now(),
          status: response.status,
          retryAfter: Number(response.headers.get('retry-after') ?? 0),
        });
        log.set(key, entries);
      }
      return response;
    };
    const ferry = new FerryClient({
      nodes: [limited.url],
      env: {},
      live: false,
      fetch: fetchLogged,
      retryMaxAttempts: 60,
      budgetCapacity: 100_000,
      retryCapMs: 1_000,
    });
    clients.push(ferry);
    const specs = Array.from({ length: 12 }, (_, i) =>
      cluster.folder('us', `storm-${String(i)}`, 1),
    );
    const jobs = await Promise.all(
      specs.map((spec, i) =>
        ferry.submit(
          { kind: 'transfer', spec, zones: ['us'] },
          { idempotencyKey: `storm-${String(i)}-${String(Date.now())}` },
        ),
      ),
    );
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(12);
    expect(ferry.metrics().rateLimited).toBeGreaterThan(0);
    const { rows } = await cluster.db.query(
      `SELECT idempotency_key FROM ferry.cluster_jobs WHERE idempotency_key = ANY($1)`,
      [jobs.map((j) => j.idempotencyKey)],
    );
    expect(rows).toHaveLength(12);
    // After every 429 the next attempt of that submission waited at least its Retry-After.
    let limitedAnswers = 0;
    for (const entries of log.values()) {
      for (let i = 1; i < entries.length; i++) {
        const before = entries[i - 1];
        if (before?.status !== 429) continue;
        limitedAnswers += 1;
        expect(before.retryAfter).toBeGreaterThan(0);
        expect((entries[i]?.sent ?? 0) - before.answered).toBeGreaterThanOrEqual(
          before.retryAfter * 1000 - 2,
        );
      }
    }
    expect(limitedAnswers).toBeGreaterThan(0);
    for (const j of jobs)
      expect((await ferry.wait(j.jobId, { timeoutMs: 60_000 })).status).toBe('completed');
    await cluster.kill(limited);
  }, 180_000);
  it('the client process is SIGKILLed mid-submit and run again with the same key: one job, the result arrives', async () => {
    const spec = cluster.folder('eu', 'restart', 3);
    const key = `restart-${String(Date.now())}`;
    const run = (mode: 'hang' | 'wait') =>
      runNode('test/fixtures/sdk-submit.ts', [
        urls().join(','),
        key,
        spec.source_path,
        spec.destination_path,
        mode,
      ]);
    const jobsForKey = async () =>
      (
        await cluster.db.query<{ id: string }>(
          `SELECT id FROM ferry.cluster_jobs WHERE idempotency_key = $1`,
          [key],
        )
      ).rows;
    // The node answered the submission; the process dies before the SDK saw the answer.
    const first = run('hang');
    await first.waitFor(/^sent$/m, 30_000);
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const made = await jobsForKey();
    expect(made).toHaveLength(1);
    // The restarted process submits again with the key it had stored.
    const second = run('wait');
    const [line = ''] = await second.waitFor(/^\{.*\}$/m, 50_000);
    expect(await second.exited).toBe(0);
    const final = JSON.parse(line) as { jobId: string; status: string };
    expect(final).toEqual({ jobId: made[0]?.id, status: 'completed' });
    expect(await jobsForKey()).toHaveLength(1);
    cluster.verified(spec);
  }, 60_000);

  it('the only node of a zone dies: the SDK reports the job orphaned, then re-attaches it when the node returns', async () => {
    const ferry = client({
      zone: 'eu',
      requestTimeoutMs: 3_000,
      orphanGraceSeconds: 2,
      orphanCheckSeconds: 1,
    });
    await ferry.start();
    const c = cluster.nodes.get('c');
    if (!c) throw new Error('no us node');
    const orphaned: JobState[] = [];
    const transfers: LeaderTransfer[] = [];
    let finals = 0;
    const spec = cluster.folder('us', 'orphan', 5);
    // Frozen first, so it cannot take the part before it dies; still healthy at submission.
    c.child.proc.kill('SIGSTOP');
    const job = await ferry.submit(
      { kind: 'transfer', spec, zones: ['us'] },
      {
        onOrphaned: (s) => orphaned.push(s),
        onLeaderTransfer: (t) => transfers.push(t),
        onFinal: () => (finals += 1),
      },
    );
    await cluster.kill(c);
    await until('the SDK reporting the job orphaned', async () =>
      orphaned.length > 0 ? true : undefined,
    );
    expect(ferry.status(job.jobId)?.orphaned).toBe(true);
    expect(ferry.metrics().orphaned).toBeGreaterThanOrEqual(1);
    expect(finals).toBe(0);
    const back = await cluster.start('c', 'us');
    const final = await ferry.wait(job.jobId, { timeoutMs: 45_000 });
    expect(final.status).toBe('completed');
    expect(final.orphaned).toBe(false);
    expect(final.zones.us).toMatchObject({ url: back.url });
    expect(transfers.at(-1)).toMatchObject({ zone: 'us', url: back.url });
    expect(finals).toBe(1);
    cluster.verified(spec);
  }, 60_000);

  it('protocol of another major against the real servers: refused clearly, naming both versions', async () => {
    // A client that offers major 2 (its Ferry-Protocol header): every node refuses it.
    const offersTwo = client({
      live: false,
      fetch: (url, init) =>
        fetch(url, { ...init, headers: { ...init.headers, 'ferry-protocol': '2.0' } }),
    });
    const spec = cluster.folder('eu', 'protocol', 1);
    const refused = await offersTwo.submit({ kind: 'transfer', spec, zones: ['eu'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(FerryClientError);
    expect(refused).toMatchObject({ code: 'FERRY_CLIENT_ERR_PROTOCOL_MISMATCH' });
    expect((refused as Error).message).toMatch(
      /speaks Ferry protocol 1\.0; this client speaks 2\.0 \(another major\)/,
    );
    expect(offersTwo.metrics().submitted).toBe(0);
    // A node answering major 2 (its answers' Ferry-Protocol header) is not used; the call goes
    // on to a node that fits, and a client with that node alone fails clearly.
    const [odd, fits] = [...cluster.nodes.values()].filter((n) => n.name !== 'c');
    if (!odd || !fits) throw new Error('two eu nodes needed');
    const answersTwo: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      if (!url.startsWith(odd.url)) return response;
      return {
        status: response.status,
        headers: {
          get: (name) => (name === 'ferry-protocol' ? '2.0' : response.headers.get(name)),
        },
        text: () => response.text(),
      };
    };
    const mixed = client({ nodes: [odd.url, fits.url], live: false, fetch: answersTwo });
    const job = await mixed.submit({ kind: 'transfer', spec, zones: ['eu'] });
    expect(job.node).toBe(fits.url);
    expect(mixed.nodeStates().find((n) => n.url === odd.url)).toMatchObject({ protocol: '2.0' });
    const alone = client({ nodes: [odd.url], live: false, fetch: answersTwo });
    await expect(alone.submit({ kind: 'transfer', spec, zones: ['eu'] })).rejects.toMatchObject({
      code: 'FERRY_CLIENT_ERR_PROTOCOL_MISMATCH',
      message: expect.stringMatching(/speaks Ferry protocol 2\.0; this client speaks 1\.0/),
    });
    expect((await mixed.wait(job.jobId, { timeoutMs: 30_000 })).status).toBe('completed');
  }, 60_000);

  it('the WebSocket is cut: polling takes over, then pushes resume, and no update is missed', async () => {
    const polls = { down: 0, up: 0 };
    const counting: FetchLike = async (url, init) => {
      if (init.method === 'GET' && /\/api\/v1\/jobs\/[^/?]+$/.test(url))
        polls[ferry.liveStatus().open ? 'up' : 'down'] += 1;
      return fetch(url, init);
    };
    let blocked = false;
    const sockets: WebSocket[] = [];
    const ferry = client({
      zone: 'eu',
      fetch: counting,
      // While cut, every reconnect attempt fails (nothing listens on port 1).
      connect: (url, protocols) => {
        const ws = new WebSocket(blocked ? 'ws://127.0.0.1:1/api/v1/live' : url, protocols);
        sockets.push(ws);
        return ws as unknown as WebSocketLike;
      },
    });
    await ferry.start();
    await until('the live channel open', async () => (ferry.liveStatus().open ? true : undefined));
    let openAtFinal: boolean | undefined;
    const spec = cluster.folder('eu', 'poll', 20);
    const job = await ferry.submit(
      { kind: 'transfer', spec, zones: ['eu'] },
      { onFinal: () => (openAtFinal = ferry.liveStatus().open) },
    );
    blocked = true;
    sockets.at(-1)?.close(4000, 'cut by the test');
    const final = await ferry.wait(job.jobId, { timeoutMs: 45_000 });
    // The job's end arrived by polling, while the socket was down.
    expect(final.status).toBe('completed');
    expect(openAtFinal).toBe(false);
    expect(ferry.liveStatus().open).toBe(false);
    expect(polls.down).toBeGreaterThan(0);
    blocked = false;
    await until('the live channel back', async () => (ferry.liveStatus().open ? true : undefined));
    // The resumed session replays the per-file results pushed while it was down.
    await until('every file’s result', async () =>
      ferry.status(job.jobId)?.zones.eu?.items === 20 ? true : undefined,
    );
    cluster.verified(spec);
    // Pushes carry the next job: no polling while the socket is up.
    const downBefore = polls.down;
    const next = cluster.folder('eu', 'pushed', 3);
    const pushed = await ferry.submit({ kind: 'transfer', spec: next, zones: ['eu'] });
    const pushedFinal = await ferry.wait(pushed.jobId, { timeoutMs: 30_000 });
    expect(pushedFinal.status).toBe('completed');
    expect(pushedFinal.zones.eu?.items).toBe(3);
    expect(polls.down).toBe(downBefore);
    expect(ferry.liveStatus().open).toBe(true);
    cluster.verified(next);
  }, 60_000);
});
