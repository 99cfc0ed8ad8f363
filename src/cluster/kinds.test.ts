/**
 * Job timeouts and the `pipeline_run` and `event_batch` kinds, on one node of both stores: a
 * part still running at its job's timeout is stopped through its signal and settles `failed`
 * with the timeout error, and one still waiting for a node is failed by the cluster leader; each kind refuses a spec it cannot run with a 422 naming the field,
 * and runs through its capability's own service.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLocalPipelineHarness } from '../../test/helpers/pipeline-harness.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import { transferWorld, type TransferWorld } from '../../test/helpers/transfers.ts';
import { insertTestJob } from '../../test/helpers/jobs.ts';
import { insertJob } from './job-records.ts';
import type { JobKind } from './kinds.ts';

interface JobJson {
  job_id: string;
  status: string;
  code?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
  zones: {
    zone: string;
    status: string;
    result: {
      code?: string;
      error?: string;
      accepted?: number;
      rejected?: number;
      run_id?: string;
      summary?: { succeeded: number };
      items?: { index: number; status: string; event_id?: number; error?: string }[];
    } | null;
  }[];
}

/** A kind whose part runs until it is stopped, and remembers why it was. */
function waitingKind(reasons: unknown[]): JobKind {
  return {
    paths: () => [],
    check() {},
    run: (context) =>
      new Promise((resolve) => {
        context.signal.addEventListener('abort', () => {
          reasons.push(context.signal.reason);
          resolve(undefined);
        });
      }),
  };
}

const quickKind: JobKind = {
  paths: () => [],
  check() {},
  run: () => Promise.resolve({ status: 'completed', result: { done: true }, items: [] }),
};

describe.each(storeKinds)('job timeouts and the event_batch kind (%s)', (kind) => {
  let world: TransferWorld;
  const reasons: unknown[] = [];
  beforeEach(async () => {
    reasons.length = 0;
    world = await transferWorld(
      kind,
      { jobKinds: { waiting: waitingKind(reasons), quick: quickKind } },
      { FERRY_CLUSTER_HEARTBEAT_SECONDS: '0.5' },
    );
  });
  afterEach(async () => {
    await world.cleanup();
  });

  const waitFor = (id: string) =>
    world.request<JobJson>('GET', `/api/v1/jobs/${id}/wait?timeout_s=60`);

  it('stops a part still running at its timeout and fails it with the timeout error', async () => {
    const job = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'waiting',
      spec: {},
      timeout_seconds: 1,
    });
    expect(job.status).toBe(202);
    const done = await waitFor(job.json.job_id);
    expect(done.json.status).toBe('failed');
    expect(done.json.zones[0]).toMatchObject({
      zone: 'default',
      status: 'failed',
      result: { code: 'FERRY_ERR_JOB_TIMEOUT' },
    });
    expect(done.json.zones[0]?.result?.error).toMatch(/timeout of 1 s/);
    // The running work was aborted through the part's signal, not left running.
    expect(reasons).toEqual(['timeout']);
    const batched = world.collect('job:status-batch', 1, (b) =>
      b.items.some((i) => i.status === 'completed' && i.zone === null),
    );
    const quick = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'quick',
      spec: {},
      timeout_seconds: 60,
    });
    expect((await waitFor(quick.json.job_id)).json.status).toBe('completed');
    // Its status changes also went out batched, for the `jobs` topic.
    const [batch] = await batched;
    expect(batch?.items).toContainEqual({
      jobId: quick.json.job_id,
      zone: null,
      status: 'completed',
      fenceToken: expect.any(Number) as number,
    });
  });

  it('counts the timeout from the submission: a part taken up after it ran out fails at once', async () => {
    const db = world.ferry.store.db;
    const id = '00000000-0000-4000-8000-0000000000aa';
    // As if its first owner died and the part is taken over an hour after the submission.
    await db.transaction(async (tx) => {
      await insertJob(
        tx,
        {
          id,
          kind: 'waiting',
          spec: {},
          zone_specs: {},
          priority: 'normal',
          timeout_seconds: 60,
          principal: 'test',
          owner_user_id: null,
          idempotency_key: null,
          labels: {},
          accepted_by: 'gone',
        },
        [{ zone: 'default', spec: {} }],
      );
      await tx.query(
        `UPDATE ferry.cluster_jobs SET status = 'running', created_at = now() - interval '1 hour'
         WHERE id = $1`,
        [id],
      );
      // Running on a dead node (no lease left): a takeover, not the leader's deadline sweep.
      await tx.query(
        `UPDATE ferry.cluster_job_parts SET status = 'running', owner_node = 'gone' WHERE job_id = $1`,
        [id],
      );
    });
    const done = await waitFor(id);
    expect(done.json.status).toBe('failed');
    expect(done.json.zones[0]?.result?.code).toBe('FERRY_ERR_JOB_TIMEOUT');
    // The work never started: nothing to abort.
    expect(reasons).toEqual([]);
  });

  it('fails parts still waiting for a node (queued, orphaned) at their deadline with the timeout error', async () => {
    const db = world.ferry.store.db;
    const [queued, orphaned, later] = ['b1', 'b2', 'b3'].map(
      (n) => `00000000-0000-4000-8000-0000000000${n}`,
    ) as [string, string, string];
    // Listening before the jobs exist: their deadline (1 s) may pass before the next statement.
    const finals = world.collect('job:final', 2, (p) => p.jobId === queued || p.jobId === orphaned);
    // Zone mars has no node: its parts wait for ever unless the timeout ends them. One
    // transaction, so the sweep never sees the orphaned one still queued.
    await db.transaction(async (tx) => {
      const mars = { zone: 'mars', ownerUserId: null };
      await insertTestJob(tx, { ...mars, id: queued, timeoutSeconds: 1 });
      await insertTestJob(tx, { ...mars, id: orphaned, timeoutSeconds: 1 });
      await insertTestJob(tx, { ...mars, id: later, timeoutSeconds: 3600 });
      await tx.query(
        `UPDATE ferry.cluster_job_parts SET status = 'orphaned', orphaned_at = now() WHERE job_id = $1`,
        [orphaned],
      );
    });
    for (const [id, state] of [
      [queued, 'queued'],
      [orphaned, 'orphaned'],
    ] as const) {
      const done = await waitFor(id);
      expect(done.json.status).toBe('failed');
      expect(done.json.zones[0]).toMatchObject({
        zone: 'mars',
        status: 'failed',
        result: { code: 'FERRY_ERR_JOB_TIMEOUT' },
      });
      expect(done.json.zones[0]?.result?.error).toBe(
        `Job part mars was still ${state} after its timeout of 1 s and was stopped.`,
      );
    }
    // Both final states were pushed; a job before its deadline is left waiting.
    expect((await finals).map((p) => p.status)).toEqual(['failed', 'failed']);
    const waiting = await world.request<JobJson>('GET', `/api/v1/jobs/${later}`);
    expect(waiting.json.zones[0]?.status).toBe('queued');
  });

  it('a cancel before the timeout wins: the part ends cancelled, not failed', async () => {
    const running = world.collect('job:status', 1, (p) => p.status === 'running' && !!p.zone);
    const job = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'waiting',
      spec: {},
      timeout_seconds: 3600,
    });
    await running;
    const cancelled = world.collect('job:cancelled', 1, (p) => p.jobId === job.json.job_id);
    await world.request('POST', `/api/v1/jobs/${job.json.job_id}/cancel`);
    await cancelled;
    const read = await world.request<JobJson>('GET', `/api/v1/jobs/${job.json.job_id}`);
    expect(read.json.status).toBe('cancelled');
    expect(reasons).toEqual(['cancelled']);
  });

  it('refuses an event batch it cannot ingest with a 422 naming the field', async () => {
    const bad = [
      {},
      { events: [] },
      { events: [{ event_name: '', event_type: 't' }] },
      { events: [{ event_name: 'a', event_type: 't', surprise: 1 }] },
      { events: [{ event_name: 'a', event_type: 't' }], extra: true },
    ];
    for (const spec of bad) {
      const answer = await world.request<JobJson>('POST', '/api/v1/jobs', {
        kind: 'event_batch',
        spec,
      });
      expect(answer.status).toBe(422);
      expect(answer.json.code).toBe('FERRY_ERR_VALIDATION');
      expect(answer.json.errors?.[0]?.field).toMatch(/^body\.zone_specs\.default/);
    }
  });

  it('ingests an event batch like POST /api/v1/events/batch and counts accepted and rejected', async () => {
    const job = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'event_batch',
      spec: {
        events: [
          { event_name: 'signup', event_type: 'user', payload: { plan: 'pro' }, message_id: 'm1' },
          { event_name: '   ', event_type: 'user' },
          { event_name: 'login', event_type: 'user', message_id: 'm2' },
        ],
      },
    });
    expect(job.status).toBe(202);
    const done = await waitFor(job.json.job_id);
    expect(done.json.status).toBe('completed');
    const result = done.json.zones[0]?.result;
    expect(result).toMatchObject({ accepted: 2, rejected: 1 });
    expect(result?.items?.map((i) => i.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(result?.items?.[1]?.error).toBe('event_name is required');
    const stored = await world.request<{ event_name: string; id: number }[]>(
      'GET',
      '/api/v1/events?limit=10',
    );
    expect(stored.json.map((e) => e.event_name).sort()).toEqual(['login', 'signup']);
    expect(stored.json.map((e) => e.id).sort()).toEqual(
      result?.items?.flatMap((i) => (i.event_id === undefined ? [] : [i.event_id])).sort(),
    );
    // The same events again (a part re-run after a takeover, say): stored once by message_id.
    const again = await world.request<JobJson>('POST', '/api/v1/jobs', {
      kind: 'event_batch',
      spec: { events: [{ event_name: 'signup', event_type: 'user', message_id: 'm1' }] },
    });
    expect((await waitFor(again.json.job_id)).json.status).toBe('completed');
    const after = await world.request<unknown[]>('GET', '/api/v1/events?limit=10');
    expect(after.json.length).toBe(2);
  });
});

describe.each(storeKinds)('the pipeline_run kind (%s)', (kind) => {
  const h = useLocalPipelineHarness(kind, 'ferry-job-pipelines-');

  const submit = async (spec: unknown) => {
    const res = await h().app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      payload: { kind: 'pipeline_run', spec },
    });
    return { status: res.statusCode, json: res.json<JobJson>() };
  };

  it('refuses a spec naming no configured pipeline with a 422 that lists them', async () => {
    for (const spec of [{}, { pipeline: 'nope' }, { pipeline: 7 }]) {
      const answer = await submit(spec);
      expect(answer.status).toBe(422);
      expect(answer.json.errors?.[0]).toMatchObject({
        field: 'body.zone_specs.default.pipeline',
        message: expect.stringContaining('main, sampled, scheduled') as string,
      });
    }
    const extra = await submit({ pipeline: 'main', folder: '/etc' });
    expect(extra.status).toBe(422);
    expect(extra.json.errors?.[0]?.field).toBe('body.zone_specs.default.folder');
  });

  it('runs the named pipeline once through the pipelines service', async () => {
    h().put('in', 'acme/A.xlsx', 'a');
    const job = await submit({ pipeline: 'main' });
    expect(job.status).toBe(202);
    const res = await h().app.inject({
      url: `/api/v1/jobs/${job.json.job_id}/wait?timeout_s=60`,
    });
    const done = res.json<JobJson>();
    expect(done.status).toBe('completed');
    const result = done.zones[0]?.result;
    expect(result?.summary?.succeeded).toBe(1);
    const run = await h().get(`/api/v1/pipelines/main/runs/${String(result?.run_id)}`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ run_id: result?.run_id, status: 'completed' });
  });
});
