/**
 * FerryClient against a fake cluster and a fake live channel, on a fake clock with fixed
 * randomness: submission, retries, redirects, the budget, protocol, tracking, fencing, pushes
 * and the polling fallback, cancellation, callbacks that throw, start/stop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  makeFakeClock,
  makeFakeCluster,
  makeFakeLive,
  flush,
} from '../../test/helpers/sdk-fakes.ts';
import { FerryClient, type FerryClientOptions } from './client.ts';
import { FerryClientError } from './errors.ts';

const A = 'http://a:1';
const B = 'http://b:2';
const C = 'http://c:65535';
const nodes = [A, B, C];
const spec = { kind: 'transfer', spec: { source_path: '/v/in', destination_path: '/v/out' } };

const clients: FerryClient[] = [];
function setup(options: Partial<FerryClientOptions> = {}, zones: Record<string, string> = {}) {
  const clock = makeFakeClock();
  const cluster = makeFakeCluster(nodes, clock, zones);
  const live = makeFakeLive();
  let keys = 0;
  const client = new FerryClient({
    nodes,
    apiKey: 'fry_test',
    env: {},
    fetch: cluster.fetch,
    connect: live.connect,
    clock,
    random: () => 0.5,
    newKey: () => `key-${String(++keys)}`,
    live: false,
    ...options,
  });
  clients.push(client);
  return { clock, cluster, live, client };
}

/** Settles `promise` while advancing the fake clock (retries sleep on it). */
async function run<T>(
  clock: ReturnType<typeof makeFakeClock>,
  promise: Promise<T>,
  stepMs = 100,
  maxMs = 120_000,
) {
  const progress = { done: false };
  const settled = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  void settled.then(() => {
    progress.done = true;
  });
  for (let t = 0; t < maxMs && !progress.done; t += stepMs) await clock.advance(stepMs);
  const result = await settled;
  if (!result.ok) throw result.error;
  return result.value;
}

async function failure(promise: Promise<unknown>, clock: ReturnType<typeof makeFakeClock>) {
  try {
    await run(clock, promise);
  } catch (error) {
    expect(error).toBeInstanceOf(FerryClientError);
    return error as FerryClientError;
  }
  throw new Error('expected a failure');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

describe('FerryClient: start and stop', () => {
  it('start() and stop() are idempotent and stop() leaves no timer or socket behind', async () => {
    const { clock, live, client } = setup({ live: true });
    const first = client.start();
    expect(client.start()).toBe(first);
    live.socket?.open();
    await run(clock, first);
    expect(clock.pending()).toBeGreaterThan(0);
    const stopping = client.stop();
    expect(client.stop()).toBe(stopping);
    await stopping;
    await flush();
    expect(clock.pending()).toBe(0);
    expect(live.sockets.every((s) => s.readyState === 3)).toBe(true);
    await expect(client.start()).rejects.toMatchObject({ code: 'FERRY_CLIENT_ERR_STOPPED' });
  });

  it('learns zones and protocol from pings; a node of another major is refused clearly and not used', async () => {
    const { clock, cluster, client } = setup();
    cluster.speaks(B, '2.0');
    const pings = await run(clock, client.pingAll());
    expect(pings.map((p) => p.ok)).toEqual([true, false, true]);
    const refused = pings[1];
    expect(refused?.ok === false && refused.error.code).toBe('FERRY_CLIENT_ERR_PROTOCOL_MISMATCH');
    expect(refused?.ok === false && refused.error.message).toMatch(
      /speaks Ferry protocol 2.0; this client speaks 1.0/,
    );
    const before = cluster.seen.length;
    for (let i = 0; i < 6; i++) await run(clock, client.submit(spec));
    expect(cluster.seen.slice(before).some((s) => s.node === B && s.method === 'POST')).toBe(false);
    const a = client.nodeStates().find((n) => n.url === A);
    expect(a?.protocol).toBe('1.0');
    expect(a?.capabilities?.has('jobs.idempotency')).toBe(true);
  });

  it('every node of another major: the call fails with the mismatch (both versions), not "no node"', async () => {
    const { clock, cluster, client } = setup();
    for (const n of nodes) cluster.speaks(n, '2.0');
    const error = await failure(client.submit(spec), clock);
    expect(error.code).toBe('FERRY_CLIENT_ERR_PROTOCOL_MISMATCH');
    expect(error.message).toMatch(
      /http:\/\/c:65535 speaks Ferry protocol 2.0; this client speaks 1.0/,
    );
    expect(cluster.seen.some((s) => s.method === 'POST')).toBe(false);
  });

  it('does not use a feature on a node that did not negotiate it', async () => {
    const { clock, cluster, client } = setup();
    cluster.offers(B, 'jobs,jobs.idempotency,fencing');
    await run(clock, client.pingAll());
    const job = await run(clock, client.submit(spec));
    cluster.seen.length = 0;
    for (let i = 0; i < 6; i++) await run(clock, client.cancel(job.jobId));
    expect(cluster.seen.map((s) => s.node)).not.toContain(B);
    expect(cluster.seen).toHaveLength(6);
  });

  it('sends Ferry-Protocol, its capabilities, the priority and the credential', async () => {
    const { clock, cluster, client } = setup();
    await run(clock, client.submit({ ...spec, priority: 'high' }));
    const post = cluster.calls('/api/v1/jobs', 'POST')[0];
    expect(post?.headers).toMatchObject({
      'ferry-protocol': '1.0',
      'ferry-capabilities': expect.stringContaining('jobs.idempotency'),
      'ferry-priority': 'high',
      authorization: 'Bearer fry_test',
    });
  });
});

describe('FerryClient: submit', () => {
  it('sends an idempotency key (the caller’s, or a new one) so a resubmission is the same job', async () => {
    const { clock, cluster, client } = setup();
    const first = await run(clock, client.submit(spec, { idempotencyKey: 'delivery-12' }));
    expect(first.idempotencyKey).toBe('delivery-12');
    // A restarted process resubmits with the same key: one job.
    const again = setup({ fetch: cluster.fetch });
    const second = await run(
      again.clock,
      again.client.submit(spec, { idempotencyKey: 'delivery-12' }),
    );
    expect(second.jobId).toBe(first.jobId);
    expect(cluster.jobs.size).toBe(1);
    const generated = await run(clock, client.submit(spec));
    expect(generated.idempotencyKey).toBe('key-1');
    expect(cluster.calls('/api/v1/jobs', 'POST').at(-1)?.body?.idempotency_key).toBe('key-1');
  });

  it('retries transient failures on other nodes, one job in the end; the answering node becomes sticky', async () => {
    const { clock, cluster, client } = setup();
    await run(clock, client.start());
    cluster.kill(A);
    cluster.script(B, { status: 502, body: undefined });
    cluster.script(C, { status: 504, body: undefined });
    const job = await run(clock, client.submit(spec));
    const posts = cluster.calls('/api/v1/jobs', 'POST');
    // Every node once (A refused, B and C failed at their proxy), then a healthy one again.
    expect(new Set(posts.slice(0, 3).map((p) => p.node))).toEqual(new Set(nodes));
    expect(posts).toHaveLength(4);
    expect(posts[3]?.node).not.toBe(A);
    expect(new Set(posts.map((p) => p.body?.idempotency_key)).size).toBe(1);
    expect(cluster.jobs.size).toBe(1);
    expect(job.node).toBe(posts[3]?.node);
    expect(client.metrics()).toMatchObject({ submitted: 1, retries: 3, failures: 0 });
    expect(client.metrics().reroutes).toBeGreaterThanOrEqual(2);
    await run(clock, client.refresh(job.jobId));
    expect(cluster.seen.at(-1)?.node).toBe(C);
  });

  it('retries what the server marks retryable and fails at once on a permanent refusal', async () => {
    const { clock, cluster, client } = setup({ nodes: [A] });
    await run(clock, client.start());
    cluster.script(A, {
      status: 409,
      body: { detail: 'busy', code: 'FERRY_ERR_PIPELINE_BUSY', retryable: true },
    });
    await run(clock, client.submit(spec));
    expect(client.metrics().retries).toBe(1);
    const before = cluster.seen.length;
    cluster.script(A, {
      status: 422,
      body: {
        detail: 'No healthy node of zone us can reach /v/in.',
        code: 'FERRY_ERR_JOB_ZONE_UNREACHABLE',
        retryable: false,
      },
    });
    const error = await failure(client.submit(spec), clock);
    expect(error).toMatchObject({
      code: 'FERRY_ERR_JOB_ZONE_UNREACHABLE',
      status: 422,
      retryable: false,
      message: 'No healthy node of zone us can reach /v/in.',
    });
    expect(cluster.seen.length - before).toBe(1);
  });

  it('honours Retry-After on 429 and 503 (never sooner), then succeeds', async () => {
    const { clock, cluster, client } = setup({ nodes: [A] });
    await run(clock, client.start());
    cluster.script(A, {
      status: 429,
      body: { detail: 'slow down', code: 'FERRY_ERR_RATE_LIMITED', retryable: true },
      headers: { 'retry-after': '7' },
    });
    const submitting = client.submit(spec);
    await clock.advance(6_900);
    expect(cluster.calls('/api/v1/jobs', 'POST')).toHaveLength(1);
    await run(clock, submitting);
    const posts = cluster.calls('/api/v1/jobs', 'POST');
    expect(posts).toHaveLength(2);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(7_000);
    expect(client.metrics().rateLimited).toBe(1);
  });

  it('follows Ferry-Redirect at most 3 times per attempt', async () => {
    const { clock, cluster, client } = setup({ nodes: [A], retryMaxAttempts: 1 });
    await run(clock, client.start());
    const draining = (to: string) => ({
      status: 503,
      body: { detail: 'draining', code: 'FERRY_ERR_DRAINING', retryable: true },
      headers: { 'ferry-redirect': to, 'retry-after': '1' },
    });
    cluster.script(A, draining(B));
    cluster.script(B, draining(C));
    await run(clock, client.submit(spec));
    expect(cluster.calls('/api/v1/jobs', 'POST').map((p) => p.node)).toEqual([A, B, C]);
    expect(client.metrics().redirects).toBe(2);
    const loop = setup({ nodes: [A], retryMaxAttempts: 1 });
    await run(loop.clock, loop.client.start());
    loop.cluster.script(A, draining(B), draining(B));
    loop.cluster.script(B, draining(C));
    loop.cluster.script(C, draining(A));
    const error = await failure(loop.client.submit(spec), loop.clock);
    expect(error.code).toBe('FERRY_ERR_DRAINING');
    expect(loop.cluster.calls('/api/v1/jobs', 'POST').map((p) => p.node)).toEqual([A, B, C, A]);
    expect(loop.client.metrics().redirects).toBe(3);
  });

  it('keeps using a node that answers 503; a dead one is pinged again as soon as no node is left', async () => {
    const { clock, cluster, client } = setup({ nodes: [A] });
    cluster.script(A, {
      status: 503,
      body: { detail: 'shed', code: 'FERRY_ERR_OVERLOADED', retryable: true },
    });
    const pinged = await run(clock, client.pingAll());
    expect(pinged[0]?.ok).toBe(false);
    expect(client.nodeStates()[0]?.healthy).toBe(true);
    cluster.kill(A);
    const startedAt = clock.now();
    const submitting = client.submit(spec);
    await clock.advance(10);
    cluster.revive(A);
    const job = await run(clock, submitting, 10);
    expect(job.node).toBe(A);
    // Revived by a ping within the call's backoff, long before the ping interval (5 s).
    expect(clock.now() - startedAt).toBeLessThan(5_000);
  });

  it('refuses locally a submission over 5 MiB, sending nothing', async () => {
    const { clock, cluster, client } = setup();
    await run(clock, client.start());
    const before = cluster.seen.length;
    const big = { ...spec, labels: { blob: 'x'.repeat(5 * 1024 * 1024) } };
    const error = await failure(client.submit(big), clock);
    expect(error.code).toBe('FERRY_CLIENT_ERR_PAYLOAD_TOO_LARGE');
    expect(cluster.seen.length).toBe(before);
  });

  it('stops retrying when the budget is empty: errors surface at once', async () => {
    const { clock, cluster, client } = setup({
      budgetCapacity: 10,
      budgetRetryCost: 5,
      retryMaxAttempts: 10,
    });
    await run(clock, client.start());
    for (const n of nodes) cluster.kill(n);
    const error = await failure(client.submit(spec), clock);
    expect(error.code).toBe('FERRY_CLIENT_ERR_BUDGET_EXHAUSTED');
    expect((error.cause as FerryClientError).code).toMatch(
      /FERRY_CLIENT_ERR_(NETWORK|NO_HEALTHY_NODE)/,
    );
    const before = cluster.calls('/api/v1/jobs', 'POST').length;
    expect(before).toBeLessThanOrEqual(3);
    const again = await failure(client.submit(spec), clock);
    expect(again.code).toBe('FERRY_CLIENT_ERR_BUDGET_EXHAUSTED');
    expect(client.metrics().budgetExhausted).toBe(2);
  });

  it('handles many concurrent submits and cancels: one job per key, idempotent cancels', async () => {
    const { clock, cluster, client } = setup();
    await run(clock, client.start());
    const submits = Array.from({ length: 50 }, (_, i) =>
      client.submit(spec, { idempotencyKey: `k${String(i % 25)}` }),
    );
    const jobs = await run(clock, Promise.all(submits));
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(25);
    expect(cluster.jobs.size).toBe(25);
    const target = jobs[0]?.jobId ?? '';
    const outcomes = await run(
      clock,
      Promise.all(Array.from({ length: 10 }, () => client.cancel(target))),
    );
    expect(outcomes.filter((o) => o.outcome === 'cancelled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'already_cancelled')).toHaveLength(9);
    expect(client.status(target)?.status).toBe('cancelled');
  });

  it('takes unicode labels and very long ids', async () => {
    const { clock, cluster, client } = setup();
    const job = await run(
      clock,
      client.submit(
        { ...spec, labels: { projet: 'été 🎬 東京' } },
        { idempotencyKey: 'k'.repeat(200) },
      ),
    );
    expect(cluster.jobs.get(job.jobId)?.labels).toEqual({ projet: 'été 🎬 東京' });
    const longId = 'x'.repeat(10_000);
    const error = await failure(client.refresh(longId), clock);
    expect(error.code).toBe('FERRY_ERR_JOB_NOT_FOUND');
  });
});

describe('FerryClient: tracking', () => {
  async function withLive() {
    const t = setup({ live: true });
    const starting = t.client.start();
    t.live.socket?.open();
    await run(t.clock, starting);
    return t;
  }

  it('resolves any number of waiters with the final push; a timeout rejects only its waiter', async () => {
    const { clock, live, client } = await withLive();
    const job = await run(clock, client.submit(spec));
    const waiters = Array.from({ length: 1000 }, () => client.wait(job.jobId));
    const impatient = client.wait(job.jobId, { timeoutMs: 1_000 });
    const timedOut = failure(impatient, clock);
    await clock.advance(1_500);
    expect((await timedOut).code).toBe('FERRY_CLIENT_ERR_WAIT_TIMEOUT');
    live.push('job:final', {
      jobId: job.jobId,
      status: 'completed',
      fenceToken: 1,
      result: { files: 3 },
    });
    const states = await run(clock, Promise.all(waiters));
    expect(states.every((s) => s.status === 'completed' && s.final)).toBe(true);
    expect(states[0]?.result).toEqual({ files: 3 });
    expect(await client.wait(job.jobId)).toMatchObject({ status: 'completed' });
  });

  it('ignores updates carrying a lower fencing token; a leader transfer moves the sticky target', async () => {
    const { clock, cluster, live, client } = await withLive();
    const transfers: string[] = [];
    const job = await run(
      clock,
      client.submit(spec, {
        onLeaderTransfer: (t) => transfers.push(`${t.url}@${String(t.fenceToken)}`),
      }),
    );
    live.push('job:leader-transfer', {
      jobId: job.jobId,
      zone: 'default',
      nodeId: 'nb',
      url: B,
      fenceToken: 2,
    });
    live.push('job:leader-transfer', {
      jobId: job.jobId,
      zone: 'default',
      nodeId: 'na',
      url: A,
      fenceToken: 1,
    });
    live.push('job:status', { jobId: job.jobId, zone: null, status: 'running', fenceToken: 2 });
    live.push('job:status', { jobId: job.jobId, zone: null, status: 'queued', fenceToken: 1 });
    await flush();
    expect(transfers).toEqual([`${B}@2`]);
    expect(client.status(job.jobId)).toMatchObject({ status: 'running', fenceToken: 2 });
    expect(client.status(job.jobId)?.zones.default).toMatchObject({ url: B, fenceToken: 2 });
    expect(client.metrics().staleDropped).toBe(2);
    await run(clock, client.refresh(job.jobId));
    expect(cluster.seen.at(-1)?.node).toBe(B);
  });

  it('follows a coordinator takeover pushed with zone null, ignoring an older coordinator', async () => {
    const { clock, cluster, live, client } = await withLive();
    const job = await run(clock, client.submit(spec));
    const moves: string[] = [];
    client.on('leader-transfer', (t) => moves.push(t.url));
    const adopted = { jobId: job.jobId, zone: null, nodeId: 'nc', fenceToken: 1 };
    live.push('job:leader-transfer', { ...adopted, url: C, leaderToken: 2 });
    live.push('job:leader-transfer', { ...adopted, nodeId: 'nb', url: B, leaderToken: 1 });
    await flush();
    expect(moves).toEqual([C]);
    await run(clock, client.refresh(job.jobId));
    expect(cluster.seen.at(-1)?.node).toBe(C);
  });

  it('applies a batch status push of 1000 jobs, one status per job, fenced per job', async () => {
    const { clock, live, client } = await withLive();
    const seen = new Map<string, string[]>();
    const jobs = await run(
      clock,
      Promise.all(
        Array.from({ length: 1000 }, () =>
          client.submit(spec, {
            onStatus: (s) => {
              seen.set(s.jobId, [...(seen.get(s.jobId) ?? []), s.status]);
            },
          }),
        ),
      ),
    );
    const items = jobs.map((job, i) => ({
      jobId: job.jobId,
      zone: i % 2 === 0 ? null : 'default',
      status: 'running',
      fenceToken: 1,
    }));
    live.push('job:status-batch', { ownerId: null, count: items.length, items });
    // A stale one (a lower token than the job already has) is dropped like a single push.
    live.push('job:status', {
      jobId: jobs[0]?.jobId,
      zone: null,
      status: 'running',
      fenceToken: 3,
    });
    live.push('job:status-batch', {
      ownerId: null,
      count: 1,
      items: [{ jobId: jobs[0]?.jobId, zone: null, status: 'queued', fenceToken: 2 }],
    });
    await flush();
    jobs.forEach((job, i) => {
      const state = client.status(job.jobId);
      if (i % 2 === 0) expect(state?.status).toBe('running');
      else expect(state?.zones.default?.status).toBe('running');
    });
    expect([...seen.values()].filter((s) => s.join() === 'running').length).toBe(500);
    expect(client.status(jobs[0]?.jobId ?? '')?.status).toBe('running');
    expect(client.metrics().staleDropped).toBe(1);
  });

  it('reports callbacks that throw and goes on', async () => {
    const { clock, live, client } = await withLive();
    const reported: unknown[] = [];
    client.on('error', (e) => reported.push(e));
    const seen: string[] = [];
    const job = await run(
      clock,
      client.submit(spec, {
        onStatus: (s) => {
          seen.push(s.status);
          throw new Error('app bug in onStatus');
        },
        onItemResult: () => {
          throw new Error('app bug in onItemResult');
        },
        onFinal: () => {
          throw new Error('app bug in onFinal');
        },
      }),
    );
    live.push('job:status', { jobId: job.jobId, zone: null, status: 'running', fenceToken: 1 });
    live.push('job:items', {
      jobId: job.jobId,
      zone: 'default',
      fenceToken: 1,
      items: [{ path: 'a' }],
    });
    live.push('job:final', { jobId: job.jobId, status: 'completed', fenceToken: 1, result: {} });
    const final = await run(clock, client.wait(job.jobId));
    expect(final.status).toBe('completed');
    expect(seen).toEqual(['running', 'completed']);
    expect(reported.map((e) => (e as Error).message)).toEqual([
      'app bug in onStatus',
      'app bug in onItemResult',
      'app bug in onStatus',
      'app bug in onFinal',
    ]);
    expect(client.metrics().callbackErrors).toBe(4);
  });

  it('handles 1000 jobs’ pushes arriving in one burst', async () => {
    const { clock, live, client } = await withLive();
    const jobs = await run(
      clock,
      Promise.all(Array.from({ length: 1000 }, () => client.submit(spec))),
    );
    const finals = Promise.all(jobs.map((j) => client.wait(j.jobId)));
    for (const j of jobs)
      live.push('job:final', { jobId: j.jobId, status: 'completed', fenceToken: 1, result: null });
    expect((await run(clock, finals)).every((s) => s.status === 'completed')).toBe(true);
  });

  it('keeps pushes that arrive before the submit answer and applies them once the job is tracked', async () => {
    const { clock, cluster, live, client } = await withLive();
    const submitting = client.submit(spec);
    await flush(1);
    const [id] = [...cluster.jobs.keys()];
    live.push('job:final', { jobId: id, status: 'completed', fenceToken: 1, result: null });
    const job = await run(clock, submitting);
    expect(client.status(job.jobId)?.status).toBe('completed');
  });

  it('polls while the socket is down and stops polling when it is back; nothing is missed', async () => {
    const { clock, cluster, live, client } = await withLive();
    const job = await run(clock, client.submit(spec));
    const reads = () => cluster.calls(`/api/v1/jobs/${job.jobId}`, 'GET').length;
    await clock.advance(5_000);
    expect(reads()).toBe(0);
    live.cut();
    await flush();
    const stored = cluster.jobs.get(job.jobId);
    if (stored) stored.status = 'running';
    await clock.advance(1_000);
    expect(reads()).toBeGreaterThan(0);
    expect(client.status(job.jobId)?.status).toBe('running');
    // The client reconnects (after its backoff) and the new session is read once over REST.
    await clock.advance(30_000);
    live.socket?.open('none');
    await flush();
    const afterReconnect = reads();
    await clock.advance(10_000);
    expect(reads()).toBe(afterReconnect);
    if (stored) stored.status = 'completed';
    live.push('job:final', { jobId: job.jobId, status: 'completed', fenceToken: 1, result: null });
    expect((await run(clock, client.wait(job.jobId))).status).toBe('completed');
  });

  it('cancel is idempotent; awaitCancellation resolves when the running work has stopped', async () => {
    const { clock, live, client } = await withLive();
    const job = await run(clock, client.submit(spec));
    live.push('job:leader-transfer', {
      jobId: job.jobId,
      zone: 'default',
      nodeId: 'nb',
      url: B,
      fenceToken: 1,
    });
    await flush();
    expect((await run(clock, client.cancel(job.jobId))).outcome).toBe('cancelled');
    expect((await run(clock, client.cancel(job.jobId))).outcome).toBe('already_cancelled');
    let stopped = false;
    const waiting = client.awaitCancellation(job.jobId).then((s) => {
      stopped = true;
      return s;
    });
    await clock.advance(1_000);
    expect(stopped).toBe(false);
    live.push('job:cancelled', { jobId: job.jobId, zone: 'default', fenceToken: 1 });
    expect((await run(clock, waiting)).status).toBe('cancelled');
  });

  it('reports a job orphaned when its owner is unreachable and silent for the grace; a new owner re-attaches it', async () => {
    const { clock, cluster, live, client } = await withLive();
    const orphaned: string[] = [];
    const job = await run(
      clock,
      client.submit(spec, { onOrphaned: (s) => orphaned.push(s.jobId) }),
    );
    live.push('job:leader-transfer', {
      jobId: job.jobId,
      zone: 'default',
      nodeId: 'nb',
      url: B,
      fenceToken: 1,
    });
    await clock.advance(60_000);
    cluster.kill(B);
    await clock.advance(60_000);
    expect(orphaned).toEqual([]);
    await clock.advance(40_000);
    expect(orphaned).toEqual([job.jobId]);
    expect(client.status(job.jobId)?.orphaned).toBe(true);
    expect(client.metrics().orphaned).toBe(1);
    live.push('job:leader-transfer', {
      jobId: job.jobId,
      zone: 'default',
      nodeId: 'nc',
      url: C,
      fenceToken: 2,
    });
    await flush();
    expect(client.status(job.jobId)).toMatchObject({
      orphaned: false,
      zones: { default: { url: C } },
    });
    await clock.advance(200_000);
    expect(orphaned).toEqual([job.jobId]);
  });

  it('stop() rejects pending waiters', async () => {
    const { clock, client } = setup();
    const job = await run(clock, client.submit(spec));
    const waiting = client.wait(job.jobId);
    await client.stop();
    await expect(waiting).rejects.toMatchObject({ code: 'FERRY_CLIENT_ERR_STOPPED' });
  });
});
