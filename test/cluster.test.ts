/**
 * Cluster mode on a real cluster: `ferry start` processes on one PostgreSQL, zones `eu` (two
 * nodes) and `us` (one node) with disjoint volumes. Short heartbeats and grace keep it fast.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFerryCluster, until, type ClusterNode as Node } from './helpers/ferry-cluster.ts';
import { storeKinds } from './helpers/stores.ts';

interface Part {
  zone: string;
  status: string;
  node_id: string | null;
  fence_token: number;
  result?: unknown;
}
type Push = {
  event: string;
  data: { zone?: string | null; nodeId?: string; fenceToken: number; leaderToken?: number };
};
interface JobJson {
  job_id: string;
  status: string;
  fence_token: number;
  leader: { node_id: string; url: string; fence_token: number };
  zones: Part[];
  code?: string;
}

describe.runIf(storeKinds.includes('postgres'))('a three-node cluster in two zones', () => {
  const cluster = makeFerryCluster();
  const { nodes, start, folder, verified, files } = cluster;

  async function call(
    node: Node,
    method: string,
    url: string,
    body?: object,
    headers: Record<string, string> = {},
  ) {
    const response = await fetch(`${node.url}${url}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: response.status,
      headers: response.headers,
      json: (await response.json()) as JobJson,
    };
  }

  /** A job's pushes of these events, as the live channel stored them, oldest first. */
  async function pushes(id: string, events: string[]) {
    const { rows } = await cluster.db.query<{
      event: string;
      data: { zone?: string | null; nodeId?: string; fenceToken: number; leaderToken?: number };
    }>(
      `SELECT event, data::jsonb AS data FROM ferry.live_messages
       WHERE event = ANY($2::text[]) AND $1 = ANY(topics) ORDER BY id`,
      [`jobs:${id}`, events],
    );
    return rows;
  }

  /** Waits until a push of `event` for the job that `match` accepts is stored; answers them all. */
  const pushed = (id: string, event: string, match: (r: Push) => boolean) =>
    until(`${event} pushed`, async () => {
      const rows = await pushes(id, [event]);
      return rows.some(match) ? rows : undefined;
    });

  /** The drain test leaves one node in eu: tests that need two start the missing one. */
  async function twoInEu(): Promise<void> {
    if (!nodes.has('a')) await start('a', 'eu');
    if (!nodes.has('b')) await start('b', 'eu');
  }

  beforeAll(() => cluster.setup(), 180_000);
  afterAll(() => cluster.teardown());

  it('registers every node with its zone; one idempotency key from two nodes makes one job', async () => {
    const a = nodes.get('a') as Node;
    const b = nodes.get('b') as Node;
    const listed = (await (await fetch(`${a.url}/api/v1/cluster/zones`)).json()) as {
      items: { zone: string; healthy_nodes: number }[];
    };
    expect(listed.items).toEqual([
      expect.objectContaining({ zone: 'eu', healthy_nodes: 2 }),
      expect.objectContaining({ zone: 'us', healthy_nodes: 1 }),
    ]);
    const spec = folder('eu', 'idem', 2);
    const body = { kind: 'transfer', spec, idempotency_key: 'same-key' };
    const [one, two] = await Promise.all([
      call(a, 'POST', '/api/v1/jobs', body),
      call(b, 'POST', '/api/v1/jobs', body),
    ]);
    expect([one.status, two.status]).toEqual([202, 202]);
    expect(two.json.job_id).toBe(one.json.job_id);
    const { rows } = await cluster.db.query(
      `SELECT id FROM ferry.cluster_jobs WHERE idempotency_key = 'same-key'`,
    );
    expect(rows).toHaveLength(1);
    // A zone whose nodes cannot reach the paths is refused: us has no eu volume.
    const refused = await call(a, 'POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec,
      zones: ['us'],
    });
    expect(refused.json.code).toBe('FERRY_ERR_JOB_ZONE_UNREACHABLE');
  });

  it('a SIGKILLed part owner: the other node of its zone takes over with token + 1, nothing copied twice', async () => {
    const a = nodes.get('a') as Node;
    const eu = folder('eu', 'big', 120);
    const us = folder('us', 'big', 3);
    const submitted = await call(a, 'POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec: eu,
      zones: ['eu', 'us'],
      zone_specs: { us },
    });
    expect(submitted.status).toBe(202);
    const id = submitted.json.job_id;
    // Mid-job: the eu part has an owner and some, not all, files verified.
    const before = await until('the eu part mid-copy', async () => {
      const rows = await files(`${id}:eu`);
      const done = rows.filter((f) => f.status === 'completed');
      return done.length > 0 ? done : undefined;
    });
    const victim = await cluster.ownerOf(id, 'eu');
    victim.child.proc.kill('SIGKILL');
    await victim.child.exited;
    nodes.delete(victim.name);
    const survivor = [...nodes.values()].find((n) => n.name !== 'c') as Node;

    const final = await call(survivor, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=120`);
    expect(final.json.status).toBe('completed');
    const euPart = final.json.zones.find((z) => z.zone === 'eu');
    expect(euPart).toMatchObject({ status: 'completed', node_id: survivor.id, fence_token: 2 });
    expect(final.json.zones.find((z) => z.zone === 'us')).toMatchObject({ status: 'completed' });
    verified(eu);
    verified(us);
    // Per-file records: one row per file; files verified before the kill were not copied again.
    const after = await files(`${id}:eu`);
    expect(after).toHaveLength(120);
    expect(after.every((f) => f.status === 'completed')).toBe(true);
    for (const f of before) {
      const now = after.find((x) => x.relative_path === f.relative_path);
      expect(now?.attempts).toBe(f.attempts);
      expect(now?.transfer_completed_at?.getTime()).toBe(f.transfer_completed_at?.getTime());
    }
    // The takeover was pushed on the job's topic with the new token.
    const pushed = await cluster.db.query<{ data: { nodeId: string; fenceToken: number } }>(
      `SELECT data::jsonb AS data FROM ferry.live_messages WHERE event = 'job:leader-transfer' AND $1 = ANY(topics)
       ORDER BY id`,
      [`jobs:${id}`],
    );
    expect(pushed.rows.map((r) => r.data.nodeId)).toContain(survivor.id);
    // Restart the killed node for the next test.
    await start(victim.name, 'eu');
  }, 240_000);

  it('SIGTERM drains a node: its part finishes on the other node of its zone, it deregisters', async () => {
    const a = [...nodes.values()].find((n) => n.name !== 'c') as Node;
    const eu = folder('eu', 'drain', 120);
    const submitted = await call(a, 'POST', '/api/v1/jobs', { kind: 'transfer', spec: eu });
    const id = submitted.json.job_id;
    await until('the part mid-copy', async () =>
      (await files(`${id}:eu`)).some((f) => f.status === 'completed') ? true : undefined,
    );
    const leaving = await cluster.ownerOf(id, 'eu');
    leaving.child.proc.kill('SIGTERM');
    expect(await leaving.child.exited).toBe(0);
    nodes.delete(leaving.name);
    const other = [...nodes.values()].find((n) => n.name !== 'c') as Node;
    const final = await call(other, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=120`);
    expect(final.json).toMatchObject({ status: 'completed' });
    expect(final.json.zones[0]).toMatchObject({ node_id: other.id, fence_token: 2 });
    verified(eu);
    const { rows } = await cluster.db.query(`SELECT id FROM ferry.cluster_nodes WHERE id = $1`, [
      leaving.id,
    ]);
    expect(rows).toEqual([]);
  }, 240_000);

  it('the only node of a zone dies: its part is orphaned after the grace and resumes when it returns', async () => {
    const a = [...nodes.values()].find((n) => n.name !== 'c') as Node;
    const c = nodes.get('c') as Node;
    const us = folder('us', 'orphan', 5);
    // Frozen first, so it cannot take the part before it dies; still healthy at submission.
    c.child.proc.kill('SIGSTOP');
    const submitted = await call(a, 'POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec: us,
      zones: ['us'],
    });
    expect(submitted.status).toBe(202);
    c.child.proc.kill('SIGKILL');
    await c.child.exited;
    const id = submitted.json.job_id;
    await until('the us part orphaned', async () => {
      const job = await call(a, 'GET', `/api/v1/jobs/${id}`);
      return job.json.zones[0]?.status === 'orphaned' ? true : undefined;
    });
    await until('the orphaned push', async () => {
      const { rows } = await cluster.db.query(
        `SELECT 1 FROM ferry.live_messages WHERE event = 'job:orphaned' AND $1 = ANY(topics)`,
        [`jobs:${id}`],
      );
      return rows.length === 1 ? true : undefined;
    });
    const back = await start('c', 'us');
    const final = await call(a, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=120`);
    expect(final.json.status).toBe('completed');
    expect(final.json.zones[0]).toMatchObject({ node_id: back.id });
    verified(us);
  }, 240_000);

  it('an unsupported protocol major is refused with both versions; every answer names the server protocol', async () => {
    const a = [...nodes.values()].find((n) => n.name !== 'c') as Node;
    const ok = await call(a, 'GET', '/api/v1/cluster/ping', undefined, {
      'ferry-protocol': '1.0',
    });
    expect(ok.status).toBe(200);
    const server = ok.headers.get('ferry-protocol') ?? '';
    expect(server).toMatch(/^\d+\.\d+$/);
    const refused = await call(a, 'GET', '/api/v1/cluster/ping', undefined, {
      'ferry-protocol': '99.0',
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ code: 'FERRY_ERR_PROTOCOL_UNSUPPORTED' });
    expect(JSON.stringify(refused.json)).toContain('99.0');
    expect(JSON.stringify(refused.json)).toContain(server);
  });

  it('cancel racing completion answers one of the three outcomes; repeated cancels agree', async () => {
    await twoInEu();
    const [a, b] = [...nodes.values()].filter((n) => n.name !== 'c') as [Node, Node];
    for (let round = 0; round < 4; round++) {
      const submitted = await call(a, 'POST', '/api/v1/jobs', {
        kind: 'transfer',
        spec: folder('eu', `race${String(round)}`, 1),
      });
      expect(submitted.status).toBe(202);
      const id = submitted.json.job_id;
      // From another node, a little later each round: before, during or after the copy.
      await new Promise((resolve) => setTimeout(resolve, round * 150));
      const first = (await call(b, 'POST', `/api/v1/jobs/${id}/cancel`)).json as unknown as {
        outcome: string;
      };
      expect(['cancelled', 'already_cancelled', 'already_completed']).toContain(first.outcome);
      const final = await call(a, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=60`);
      const again = (await call(a, 'POST', `/api/v1/jobs/${id}/cancel`)).json as unknown as {
        outcome: string;
        status: string;
      };
      if (final.json.status === 'completed') {
        expect(first.outcome).toBe('already_completed');
        expect(again.outcome).toBe('already_completed');
      } else {
        expect(final.json.status).toBe('cancelled');
        expect(first.outcome).toBe('cancelled');
        expect(again).toMatchObject({ outcome: 'already_cancelled', status: 'cancelled' });
      }
    }
  }, 120_000);

  it("a stale owner's late writes are refused: frozen past its lease, it wakes to find the part taken", async () => {
    await twoInEu();
    const a = [...nodes.values()].find((n) => n.name !== 'c') as Node;
    const eu = folder('eu', 'stale', 120);
    const submitted = await call(a, 'POST', '/api/v1/jobs', { kind: 'transfer', spec: eu });
    const id = submitted.json.job_id;
    await until('the part mid-copy', async () =>
      (await files(`${id}:eu`)).some((f) => f.status === 'completed') ? true : undefined,
    );
    const stale = await cluster.ownerOf(id, 'eu');
    const other = [...nodes.values()].find((n) => n.name !== 'c' && n !== stale) as Node;
    stale.child.proc.kill('SIGSTOP');
    // The lease lapses (3 heartbeats) and the other node of the zone takes the part.
    await until('the takeover', async () => {
      const { rows } = await cluster.db.query<{ owner_node: string; fence_token: number }>(
        `SELECT owner_node, fence_token FROM ferry.cluster_job_parts WHERE job_id = $1`,
        [id],
      );
      return rows[0]?.owner_node === other.id ? rows[0] : undefined;
    });
    stale.child.proc.kill('SIGCONT');
    const final = await call(other, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=120`);
    const why = JSON.stringify(final.json.zones[0]?.result).slice(0, 800);
    expect(final.json.status, why).toBe('completed');
    expect(final.json.zones[0]).toMatchObject({ node_id: other.id, fence_token: 2 });
    verified(eu);
    // One record per file, each completed once: the woken owner neither settled nor redid any.
    const after = await files(`${id}:eu`);
    expect(after).toHaveLength(120);
    expect(after.every((f) => f.status === 'completed')).toBe(true);
    // The woken node is still a healthy member and answers.
    const ping = await call(stale, 'GET', '/api/v1/cluster/ping');
    expect(ping.status).toBe(200);
  }, 240_000);

  it('a flood over the rate limit gets 429 with Retry-After; every accepted job runs once; overload sheds low first, never critical', async () => {
    // A node of its own zone with small limits: 4 requests per second, bursts of 8 cluster-wide.
    const d = await start('d', 'lab', {
      FERRY_LIMITS_REQUESTS_PER_SECOND: '4',
      FERRY_LIMITS_BURST: '8',
      FERRY_LIMITS_SHED_IN_FLIGHT: '4',
    });
    const source = folder('lab', 'flood', 1);
    const keys = Array.from({ length: 12 }, (_, i) => `flood-${String(i)}`);
    const submit = (key: string) =>
      call(d, 'POST', '/api/v1/jobs', {
        kind: 'transfer',
        spec: { ...source, destination_path: `${source.destination_path}-${key}` },
        idempotency_key: key,
      });
    const answers = await Promise.all(keys.map(submit));
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.json.code).toBe('FERRY_ERR_RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(answers.every((r) => r.status === 202 || r.status === 429)).toBe(true);
    // Resubmitting the refused ones after Retry-After: in the end one job per key, all completed.
    const accepted = new Map<string, string>();
    answers.forEach((r, i) => {
      if (r.status === 202) accepted.set(keys[i] ?? '', r.json.job_id);
    });
    for (const key of keys) {
      while (!accepted.has(key)) {
        const r = await submit(key);
        if (r.status === 202) accepted.set(key, r.json.job_id);
        else
          await new Promise((resolve) =>
            setTimeout(resolve, 1000 * Number(r.headers.get('retry-after') ?? 1)),
          );
      }
    }
    const { rows } = await cluster.db.query<{ idempotency_key: string; n: string }>(
      `SELECT idempotency_key, count(*) AS n FROM ferry.cluster_jobs
       WHERE idempotency_key LIKE 'flood-%' GROUP BY idempotency_key`,
    );
    expect(rows).toHaveLength(keys.length);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    await until('every flood job completed', async () => {
      const { rows: open } = await cluster.db.query(
        `SELECT 1 FROM ferry.cluster_jobs WHERE idempotency_key LIKE 'flood-%' AND status <> 'completed'`,
      );
      return open.length === 0 ? true : undefined;
    });

    // Overload: requests held in flight (bodies not yet sent) push the node past its threshold.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const { port } = new URL(d.url);
    const held = Array.from({ length: 8 }, () =>
      connect({ host: '127.0.0.1', port: Number(port) }, function send(this: Socket) {
        this.write(
          'POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
        );
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ping = (priority: string) =>
      call(d, 'GET', '/api/v1/cluster/ping', undefined, { 'ferry-priority': priority });
    const low = await ping('low');
    expect(low.status).toBe(503);
    expect(low.json.code).toBe('FERRY_ERR_OVERLOADED');
    expect(Number(low.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await ping('critical')).status).toBe(200);
    // Dropped mid-request, the held requests no longer count: low traffic passes again.
    for (const socket of held) socket.destroy();
    await until('low traffic admitted again', async () =>
      (await ping('low')).status === 200 ? true : undefined,
    );
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/shed[^\n]*low[^\n]* [1-9]/);
  }, 240_000);

  it('SIGTERM: while a node drains, its submissions are redirected to a healthy node', async () => {
    await twoInEu();
    const a = nodes.get('a') as Node;
    const eu = folder('eu', 'drain-redirect', 200);
    const running = await call(a, 'POST', '/api/v1/jobs', { kind: 'transfer', spec: eu });
    expect(running.status).toBe(202);
    const id = running.json.job_id;
    await until('the part mid-copy', async () =>
      (await files(`${id}:eu`)).some((f) => f.status === 'completed') ? true : undefined,
    );
    const leaving = await cluster.ownerOf(id, 'eu');
    const healthy = [...nodes.values()].filter((n) => n !== leaving).map((n) => n.url);
    leaving.child.proc.kill('SIGTERM');
    let redirected: { to: string | null; code?: string | undefined } | undefined;
    while (!redirected) {
      // One key: a submission accepted before the signal is one job, not one per try.
      const answer = await call(leaving, 'POST', '/api/v1/jobs', {
        kind: 'transfer',
        spec: folder('eu', 'drain-probe', 1),
        idempotency_key: 'drain-probe',
      }).catch(() => undefined);
      if (!answer) break;
      if (answer.status === 503)
        redirected = { to: answer.headers.get('ferry-redirect'), code: answer.json.code };
    }
    expect(redirected).toMatchObject({ code: 'FERRY_ERR_DRAINING' });
    expect(healthy).toContain(redirected?.to);
    expect(await leaving.child.exited).toBe(0);
    nodes.delete(leaving.name);
    const final = await call(
      [...nodes.values()].find((n) => n.name !== 'c' && n.name !== 'd') as Node,
      'GET',
      `/api/v1/jobs/${id}/wait?timeout_s=120`,
    );
    expect(final.json.status).toBe('completed');
    verified(eu);
  }, 240_000);

  it("a SIGKILLed coordinator: another node adopts the job with the lease's token + 1, settles it and pushes its final state once", async () => {
    await twoInEu();
    const c = nodes.get('c') as Node;
    // Accepted (so coordinated) by c in us, run in eu; slowed so it outlives c.
    const eu = { ...folder('eu', 'coordinated', 4), max_bytes_per_second: 262_144 };
    const submitted = await call(c, 'POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec: eu,
      zones: ['eu'],
    });
    expect(submitted.status).toBe(202);
    const id = submitted.json.job_id;
    expect(submitted.json.leader).toMatchObject({ node_id: c.id, url: c.url, fence_token: 1 });
    await until('the part running', async () => cluster.ownerOf(id, 'eu').catch(() => undefined));
    await cluster.kill(c);
    const survivor = nodes.get('a') as Node;
    const final = await call(survivor, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=120`);
    expect(final.json.status).toBe('completed');
    const leader = final.json.leader;
    expect(leader.node_id).not.toBe(c.id);
    expect(leader.fence_token).toBe(2);
    expect([...nodes.values()].map((n) => n.id)).toContain(leader.node_id);
    verified(eu);
    const adopted = (await pushed(id, 'job:leader-transfer', (r) => r.data.zone === null)).filter(
      (r) => r.data.zone === null,
    );
    expect(adopted.map((r) => [r.data.nodeId, r.data.leaderToken])).toEqual([[leader.node_id, 2]]);
    expect(await pushed(id, 'job:final', () => true)).toHaveLength(1);
    await start('c', 'us');
  }, 240_000);

  it('owners SIGKILLed one after another: each lease expiry hands the part on with token + 1; it completes once', async () => {
    await twoInEu();
    await start('e', 'eu');
    const a = nodes.get('a') as Node;
    // Slowed to 128 KiB/s (about 16 s of copying), so the part outlives two takeovers.
    const eu = { ...folder('eu', 'relay', 8), max_bytes_per_second: 131_072 };
    const submitted = await call(a, 'POST', '/api/v1/jobs', { kind: 'transfer', spec: eu });
    expect(submitted.status).toBe(202);
    const id = submitted.json.job_id;
    const owners: Node[] = [];
    const verifiedBefore: Awaited<ReturnType<typeof files>>[] = [];
    for (let kill = 0; kill < 2; kill++) {
      const owner = await until('the part running on a live node', async () => {
        const found = await cluster.ownerOf(id, 'eu').catch(() => undefined);
        return found && !owners.includes(found) ? found : undefined;
      });
      owners.push(owner);
      // Its announcement is stored before it dies (a node killed at once may never send it).
      await pushed(id, 'job:leader-transfer', (r) => r.data.nodeId === owner.id);
      verifiedBefore.push((await files(`${id}:eu`)).filter((f) => f.status === 'completed'));
      await cluster.kill(owner);
    }
    const last = await until('the third owner', async () => {
      const found = await cluster.ownerOf(id, 'eu').catch(() => undefined);
      return found && !owners.includes(found) ? found : undefined;
    });
    const final = await call(last, 'GET', `/api/v1/jobs/${id}/wait?timeout_s=120`);
    expect(final.json.status).toBe('completed');
    expect(final.json.zones[0]).toMatchObject({ node_id: last.id, fence_token: 3 });
    verified(eu);
    // One record per file; a file verified before a kill was never copied again.
    const after = await files(`${id}:eu`);
    expect(after).toHaveLength(8);
    expect(after.every((f) => f.status === 'completed')).toBe(true);
    for (const f of verifiedBefore.flat()) {
      const now = after.find((x) => x.relative_path === f.relative_path);
      expect(now?.attempts).toBe(f.attempts);
      expect(now?.transfer_completed_at?.getTime()).toBe(f.transfer_completed_at?.getTime());
    }
    // Three owners of the part announced in turn, each with a higher token; one final push.
    const transfers = (
      await pushed(id, 'job:leader-transfer', (r) => r.data.nodeId === last.id)
    ).filter((r) => r.data.zone === 'eu');
    expect(transfers.map((r) => [r.data.nodeId, r.data.fenceToken])).toEqual([
      [owners[0]?.id, 1],
      [owners[1]?.id, 2],
      [last.id, 3],
    ]);
    expect(await pushed(id, 'job:final', () => true)).toHaveLength(1);
  }, 240_000);
});
