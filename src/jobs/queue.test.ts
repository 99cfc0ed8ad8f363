import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { makeFerry, type Ferry } from '../app/index.ts';
import { defineJob, type JobDefinition } from './index.ts';

describe.each(storeKinds)('jobs on %s', (kind) => {
  const open: { ferry: Ferry; env: TestEnv }[] = [];

  async function startFerry(
    definitions: JobDefinition<never>[],
    envVars: Record<string, string> = {},
    reuse?: TestEnv,
  ) {
    const env =
      reuse ??
      (await testEnv(kind, {
        FERRY_JOBS_RETRY_DELAY_SECONDS: '0',
        FERRY_JOBS_RETRY_BACKOFF: 'false',
        ...envVars,
      }));
    const ferry = makeFerry(env.config, { jobs: definitions });
    await ferry.start();
    open.push({ ferry, env });
    return { ferry, env };
  }

  afterEach(async () => {
    for (const { ferry } of open.splice(0).reverse()) await ferry.stop();
    // Each test made its own env; remove them after every node on it stopped.
  });

  it('runs a sent job through its handler and reports completion', async () => {
    const seen: number[] = [];
    const echo = defineJob<{ n: number }>({
      name: 'test.echo',
      async handler(job) {
        seen.push(job.data.n);
        return { doubled: job.data.n * 2 };
      },
    });
    const { ferry, env } = await startFerry([echo]);
    const done = ferry.bus.next('job:completed', (e) => e.name === 'test.echo');
    const id = await ferry.jobs.send(echo, { n: 21 });
    expect(await done).toEqual({ name: 'test.echo', id, output: { doubled: 42 } });
    expect(seen).toEqual([21]);
    await ferry.stop();
    await env.cleanup();
  });

  it('retries a failing job and then succeeds', async () => {
    let attempts = 0;
    const flaky = defineJob<object>({
      name: 'test.flaky',
      async handler() {
        attempts += 1;
        if (attempts < 3) throw new Error(`attempt ${attempts} failed`);
        return 'ok';
      },
    });
    const { ferry, env } = await startFerry([flaky]);
    const failures: string[] = [];
    ferry.bus.on('job:failed', (e) => {
      if (e.name === 'test.flaky') failures.push(e.error);
    });
    // Ferry's own jobs (drains, sweeps) complete meanwhile: wait for this one.
    const done = ferry.bus.next('job:completed', (e) => e.name === 'test.flaky');
    await ferry.jobs.send(flaky, {});
    await done;
    expect(failures).toEqual(['attempt 1 failed', 'attempt 2 failed']);
    expect(attempts).toBe(3);
    await ferry.stop();
    await env.cleanup();
  });

  it('honours singleton keys: a second send with the same key is refused', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = defineJob<object>({
      name: 'test.single',
      policy: { queuePolicy: 'exclusive' },
      handler: () => gate,
    });
    const { ferry, env } = await startFerry([slow]);
    const first = await ferry.jobs.send(slow, {}, { singletonKey: 'k', startAfterSeconds: 3600 });
    const second = await ferry.jobs.send(slow, {}, { singletonKey: 'k', startAfterSeconds: 3600 });
    expect(first).toEqual(expect.any(String));
    expect(second).toBeNull();
    release();
    await ferry.stop();
    await env.cleanup();
  });

  it('cancels a queued job so it never runs', async () => {
    let ran = false;
    const later = defineJob<object>({
      name: 'test.later',
      async handler() {
        ran = true;
      },
    });
    const { ferry, env } = await startFerry([later]);
    const id = await ferry.jobs.send(later, {}, { startAfterSeconds: 3600 });
    if (!id) throw new Error('not sent');
    await ferry.jobs.cancel(later, id);
    const [job] = await ferry.jobs.boss.findJobs(later.name, { id });
    expect(job?.state).toBe('cancelled');
    expect(ran).toBe(false);
    await ferry.stop();
    await env.cleanup();
  });

  it('refuses to send a job nobody registered', async () => {
    const { ferry, env } = await startFerry([]);
    const stranger = defineJob<object>({ name: 'test.stranger', handler: async () => undefined });
    await expect(ferry.jobs.send(stranger, {})).rejects.toMatchObject({
      code: 'FERRY_ERR_JOB_UNKNOWN',
    });
    await ferry.stop();
    await env.cleanup();
  });

  it('on stop, lets an in-flight job finish within the timeout and keeps queued jobs for the next start', async () => {
    const finished: number[] = [];
    let started: () => void = () => undefined;
    const isRunning = new Promise<void>((resolve) => (started = resolve));
    let letFinish: () => void = () => undefined;
    const finish = new Promise<void>((resolve) => (letFinish = resolve));
    const work = defineJob<{ n: number }>({
      name: 'test.work',
      policy: { batchSize: 1 },
      async handler(job) {
        if (job.data.n === 0) {
          started();
          await finish;
        }
        finished.push(job.data.n);
      },
    });
    const { ferry, env } = await startFerry([work], { FERRY_JOBS_SHUTDOWN_TIMEOUT_MS: '20000' });
    await ferry.jobs.send(work, { n: 0 });
    await isRunning;
    for (let n = 1; n <= 5; n++) await ferry.jobs.send(work, { n }, { startAfterSeconds: 1 });
    const stopping = ferry.stop();
    letFinish();
    await stopping;
    expect(finished).toEqual([0]);

    const again = makeFerry(env.config, { jobs: [work] });
    const all = new Promise<void>((resolve) => {
      again.bus.on('job:completed', () => {
        if (finished.length === 6) resolve();
      });
    });
    await again.start();
    await all;
    expect([...finished].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    await again.stop();
    await env.cleanup();
  });
});
