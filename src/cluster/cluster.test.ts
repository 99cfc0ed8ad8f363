/**
 * Cluster mode on one node, on both stores: the registry routes, protocol negotiation, a
 * transfer job from submit to final result, idempotency, cancellation outcomes, zones no node
 * can serve, a job's coordinator and its takeover, a stale owner's fenced write and orphaned
 * parts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLease, fenced } from '../db/index.ts';
import { insertStrandedJob } from '../../test/helpers/jobs.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  sha256File,
  transferWorld,
  writeRandom,
  type TransferWorld,
} from '../../test/helpers/transfers.ts';
import { jobLease } from './coordination-records.ts';
import { markOrphans, settleJob, settlePart, takePart } from './job-records.ts';
import { partLease } from './parts.ts';

interface JobJson {
  job_id: string;
  status: string;
  fence_token: number;
  leader: { node_id: string; url: string; fence_token: number };
  zones: {
    zone: string;
    status: string;
    node_id: string | null;
    fence_token: number;
    result: {
      items: { path: string; source_checksum: string; checksum_match: boolean }[];
      file_count: number;
    } | null;
  }[];
  result: Record<string, { status: string }> | null;
  outcome?: string;
  code?: string;
  detail?: string;
  server_protocol?: string;
  total?: number;
  items?: JobJson[];
}

describe.each(storeKinds)('cluster mode on one node (%s)', (kind) => {
  let world: TransferWorld;
  beforeEach(async () => {
    world = await transferWorld(kind, {}, { FERRY_CLUSTER_HEARTBEAT_SECONDS: '0.5' });
  });
  afterEach(async () => {
    await world.cleanup();
  });

  it('lists itself as a healthy node of its zone, names the leader, and negotiates the protocol', async () => {
    const nodes = await world.request<{
      items: { id: string; zone: string; health: string; volumes: string[] }[];
    }>('GET', '/api/v1/cluster/nodes');
    expect(nodes.status).toBe(200);
    expect(nodes.json.items).toEqual([
      expect.objectContaining({ id: world.ferry.nodeId, zone: 'default', health: 'healthy' }),
    ]);
    expect(nodes.json.items[0]?.volumes.length).toBe(1);
    const zones = await world.request<{ items: { zone: string; healthy_nodes: number }[] }>(
      'GET',
      '/api/v1/cluster/zones',
    );
    expect(zones.json.items).toEqual([
      expect.objectContaining({ zone: 'default', healthy_nodes: 1 }),
    ]);
    const ping = await world.ferry.http?.inject({
      url: '/api/v1/cluster/ping',
      headers: { 'ferry-protocol': '1.3', 'ferry-capabilities': 'jobs,teleport' },
    });
    expect(ping?.statusCode).toBe(200);
    expect(ping?.headers['ferry-protocol']).toBe('1.0');
    expect(ping?.headers['ferry-capabilities']).toBe('jobs');
    expect(ping?.json()).toMatchObject({
      node_id: world.ferry.nodeId,
      zone: 'default',
      leader: { node_id: world.ferry.nodeId, fence_token: expect.any(Number) as number },
      protocol: '1.0',
    });
    const refused = await world.ferry.http?.inject({
      url: '/api/v1/cluster/ping',
      headers: { 'ferry-protocol': '2.0' },
    });
    expect(refused?.statusCode).toBe(400);
    expect(refused?.json()).toMatchObject({
      code: 'FERRY_ERR_PROTOCOL_UNSUPPORTED',
      server_protocol: '1.0',
      client_protocol: '2.0',
    });
    expect(refused?.json<JobJson>().detail).toMatch(/2\.0.*1\.0/);
  });

  it('runs a transfer job to its final result, once per idempotency key', async () => {
    const sums = [1, 2, 3].map((i) => writeRandom(path.join(world.src, `d/f${i}.bin`), 50_000 + i));
    const body = {
      kind: 'transfer',
      spec: { source_path: path.join(world.src, 'd'), destination_path: world.dst },
      idempotency_key: 'k-1',
      labels: { team: 'ünïcode' },
    };
    const final = world.collect('job:final', 1);
    const first = await world.request<JobJson>('POST', '/api/v1/jobs', body);
    expect(first.status).toBe(202);
    expect(first.json.leader.node_id).toBe(world.ferry.nodeId);
    const again = await world.request<JobJson>('POST', '/api/v1/jobs', body);
    expect(again.json.job_id).toBe(first.json.job_id);
    const [pushed] = await final;
    expect(pushed).toMatchObject({ jobId: first.json.job_id, status: 'completed' });
    const waited = await world.request<JobJson>(
      'GET',
      `/api/v1/jobs/${first.json.job_id}/wait?timeout_s=30`,
    );
    expect(waited.json.status).toBe('completed');
    const part = waited.json.zones[0];
    expect(part).toMatchObject({ zone: 'default', status: 'completed', fence_token: 1 });
    expect(part?.result?.items.map((i) => i.checksum_match)).toEqual([true, true, true]);
    [1, 2, 3].forEach((i, n) => {
      expect(sha256File(path.join(world.dst, `f${i}.bin`))).toBe(sums[n]);
    });
    const listed = await world.request<JobJson>(
      'GET',
      '/api/v1/jobs?label=team=ünïcode&status=completed',
    );
    expect(listed.json.total).toBe(1);
    const cancel = await world.request<JobJson>('POST', `/api/v1/jobs/${first.json.job_id}/cancel`);
    expect(cancel.json.outcome).toBe('already_completed');
  });

  it('answers a cancel racing completion with one outcome, and repeats idempotently', async () => {
    for (let i = 0; i < 20; i++) writeRandom(path.join(world.src, `r/f${i}.bin`), 200_000);
    const job = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec: { source_path: path.join(world.src, 'r'), destination_path: world.dst },
    });
    const first = await world.request<JobJson>('POST', `/api/v1/jobs/${job.json.job_id}/cancel`);
    expect(['cancelled', 'already_completed']).toContain(first.json.outcome);
    const second = await world.request<JobJson>('POST', `/api/v1/jobs/${job.json.job_id}/cancel`);
    expect(second.json.outcome).toBe(
      first.json.outcome === 'cancelled' ? 'already_cancelled' : 'already_completed',
    );
    const settled = await world.request<JobJson>('GET', `/api/v1/jobs/${job.json.job_id}`);
    expect(settled.json.status).toBe(
      first.json.outcome === 'cancelled' ? 'cancelled' : 'completed',
    );
  });

  it('refuses a zone no healthy node can serve, and paths outside its volumes', async () => {
    const spec = { source_path: world.src, destination_path: world.dst };
    const elsewhere = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec,
      zones: ['us'],
    });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.json.code).toBe('FERRY_ERR_JOB_ZONE_UNREACHABLE');
    const outside = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'transfer',
      spec: { ...spec, destination_path: '/etc' },
    });
    expect(outside.json.code).toBe('FERRY_ERR_JOB_ZONE_UNREACHABLE');
    const unknown = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'teleport',
      spec,
    });
    expect(unknown.json.code).toBe('FERRY_ERR_JOB_KIND_UNKNOWN');
    const huge = await world.ferry.http?.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { kind: 'transfer', spec: { ...spec, pad: 'x'.repeat(6 * 1024 * 1024) } },
    });
    expect(huge?.statusCode).toBe(413);
    expect(huge?.json<JobJson>().code).toBe('FERRY_ERR_PAYLOAD_TOO_LARGE');
    expect(existsSync(path.join(world.dst, 'src'))).toBe(false);
  });

  it('coordinates each job under its own lease: leader and token in the job; a dead coordinator is replaced with token + 1', async () => {
    writeRandom(path.join(world.src, 'c/f.bin'), 10_000);
    const spec = { source_path: path.join(world.src, 'c'), destination_path: world.dst };
    const job = await world.request<JobJson>('POST', '/api/v1/jobs', { kind: 'transfer', spec });
    expect(job.json.leader).toEqual({
      node_id: world.ferry.nodeId,
      url: expect.stringMatching(/^http/) as string,
      fence_token: 1,
    });
    const done = await world.request<JobJson>(
      'GET',
      `/api/v1/jobs/${job.json.job_id}/wait?timeout_s=30`,
    );
    expect(done.json.status).toBe('completed');
    // Token 1 unless a stall past the lease's TTL (a loaded machine) made the node re-adopt it.
    expect(done.json.leader.node_id).toBe(world.ferry.nodeId);
    expect(done.json.leader.fence_token).toBeGreaterThanOrEqual(1);

    // A job whose coordinator died: its lease, held by a node that is gone, has expired.
    const db = world.ferry.store.db;
    const id = '00000000-0000-4000-8000-000000000002';
    const adopted = world.collect('job:leader-transfer', 1, (p) => p.jobId === id);
    // The lease first: a job without one is adopted at this node's next tick.
    const dead = await acquireLease(db, jobLease(id), 'dead-node', 60_000);
    if (!dead) throw new Error('no lease');
    await insertStrandedJob(db, id);
    await db.query(`UPDATE ferry.leases SET expires_at = now() WHERE name = $1`, [dead.name]);
    const [transfer] = await adopted;
    expect(transfer).toMatchObject({
      zone: null,
      nodeId: world.ferry.nodeId,
      leaderToken: dead.token + 1,
    });
    const read = await world.request<JobJson>('GET', `/api/v1/jobs/${id}`);
    expect(read.json.leader).toMatchObject({
      node_id: world.ferry.nodeId,
      fence_token: dead.token + 1,
    });
    // The dead coordinator's late settling is refused.
    await expect(fenced(db, dead, (tx) => settleJob(tx, id))).rejects.toMatchObject({
      code: 'FERRY_ERR_LEASE_LOST',
    });
  });

  it("refuses a stale owner's late write and orphans a part whose zone has no node", async () => {
    const db = world.ferry.store.db;
    const id = '00000000-0000-4000-8000-000000000001';
    await insertStrandedJob(db, id);
    const old = await acquireLease(db, partLease(id, 'mars'), 'old-owner', 60_000);
    if (!old) throw new Error('no lease');
    await fenced(db, old, (tx) =>
      takePart(tx, { jobId: id, zone: 'mars', node: 'old-owner', url: '', token: old.token }),
    );
    // The old owner stalls past its lease; a new owner takes the part with token + 1.
    await db.query(
      `UPDATE ferry.leases SET expires_at = now() - interval '1 second' WHERE name = $1`,
      [old.name],
    );
    const fresh = await acquireLease(db, partLease(id, 'mars'), 'new-owner', 60_000);
    expect(fresh?.token).toBe(old.token + 1);
    await expect(
      fenced(db, old, (tx) => settlePart(tx, id, 'mars', 'completed', {})),
    ).rejects.toMatchObject({ code: 'FERRY_ERR_LEASE_LOST' });
    // Nobody in zone mars renews it: after the grace it is orphaned.
    await db.query(
      `UPDATE ferry.leases SET expires_at = now() - interval '1 hour' WHERE name = $1`,
      [old.name],
    );
    await db.query(`UPDATE ferry.cluster_job_parts SET updated_at = now() - interval '1 hour'`);
    const orphans = await markOrphans(db, 1000, 60_000);
    expect(orphans.map((p) => [p.zone, p.status])).toEqual([['mars', 'orphaned']]);
  });
});
