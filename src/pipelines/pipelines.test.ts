/**
 * Pipelines end to end on a local source folder, on every store: the core scenarios (shared
 * with the SMB suite), plus logs, the coordinator answer shape and the reads.
 */
import { describe, expect, it } from 'vitest';
import { useLocalPipelineHarness } from '../../test/helpers/pipeline-harness.ts';
import { coreScenarios, filesOf } from '../../test/helpers/pipeline-scenarios.ts';
import { storeKinds } from '../../test/helpers/stores.ts';

describe.each(storeKinds)('pipelines on a local folder, %s store', (kind) => {
  const h = useLocalPipelineHarness(kind, 'ferry-pipelines-');

  coreScenarios(() => h());

  it('logs every step as JSON with run_id, correlation_id, remitter, file, stage and status', async () => {
    h().put('in', 'logged/A.xlsx', 'a');
    const res = await h().app.inject({
      method: 'POST',
      url: '/api/v1/pipelines/main/runs',
      headers: { 'x-correlation-id': 'corr-42' },
    });
    expect(res.statusCode).toBe(200);
    const runId = res.json<{ run_id: string }>().run_id;
    await h().settled(runId);
    const steps = h().logs.filter((l) => typeof l.stage === 'string');
    expect(steps.some((l) => l.stage === 'archive')).toBe(true);
    for (const line of steps) {
      expect(line).toMatchObject({ run_id: runId, correlation_id: 'corr-42', pipeline: 'main' });
      expect(line).toHaveProperty('remitter');
      expect(line).toHaveProperty('file');
      expect(line).toHaveProperty('status');
    }
    const fileSteps = steps
      .filter((l) => l.file === 'logged/A.xlsx')
      .map((l) => `${String(l.stage)}:${String(l.status)}`);
    expect(fileSteps).toEqual(
      expect.arrayContaining(['claim:claimed', 'extract:extracted', 'submit:success']),
    );
    expect(steps.find((l) => l.file === 'logged/A.xlsx')).toMatchObject({ remitter: 'logged' });
  });

  it('lists pipelines, runs and files; unknown names and ids are 404 with codes', async () => {
    h().put('in', 'reads/A.xlsx', 'a');
    const body = await h().runSettled();
    const list = await h().get('/api/v1/pipelines');
    expect(list.body).toMatchObject({
      total: 3,
      items: [
        { name: 'main', default: true, schedule: null },
        { name: 'sampled', default: false },
        { name: 'scheduled', schedule: '0 0 1 1 *' },
      ],
    });
    const runs = await h().get('/api/v1/pipelines/main/runs?limit=1');
    expect(runs.body).toMatchObject({ items: [{ run_id: body.run_id, trigger: 'api' }] });
    const success = await h().get('/api/v1/pipelines/main/files?status=success&limit=1000');
    const items = (success.body as { items: { remitter: string; status: string }[] }).items;
    expect(items.some((f) => f.remitter === 'reads')).toBe(true);
    expect(items.every((f) => f.status === 'success')).toBe(true);
    expect((await h().get('/api/v1/pipelines/nope/files')).body).toMatchObject({
      code: 'FERRY_ERR_PIPELINE_NOT_FOUND',
    });
    const missingRun = await h().get(
      `/api/v1/pipelines/main/runs/00000000-0000-4000-8000-000000000000`,
    );
    expect(missingRun).toMatchObject({
      status: 404,
      body: { code: 'FERRY_ERR_PIPELINE_RUN_NOT_FOUND' },
    });
    const missingFile = await h().get('/api/v1/pipelines/main/files/999999/history');
    expect(missingFile).toMatchObject({
      status: 404,
      body: { code: 'FERRY_ERR_PIPELINE_FILE_NOT_FOUND' },
    });
    const [file] = await filesOf(h(), 'reads');
    const other = await h().get(`/api/v1/pipelines/sampled/files/${String(file?.id)}/history`);
    expect(other.status).toBe(404);
  });

  it('the named route runs any pipeline; the coordinator route runs the default', async () => {
    h().put('sampled', 'named/B.xlsx', 'b');
    const named = await h().runSettled('sampled');
    expect(named).toMatchObject({ pipeline: 'sampled', summary: { succeeded: 1 } });
    expect(h().fakes.extractor.calls[0]?.path).toBe('/sampled/extract/named');
    const coordinator = await h().runSettled();
    expect(coordinator.pipeline).toBe('main');
  });

  it('a scheduled pipeline runs from its job (the schedule sends it)', async () => {
    h().put('scheduled', 'cron/C.xlsx', 'c');
    const definition = h().ferry.pipelines.definitions.find(
      (d) => d.name === 'pipelines.run.scheduled',
    );
    expect(definition?.cron).toBe('0 0 1 1 *');
    const schedules = await h().ferry.jobs.boss.getSchedules();
    expect(schedules.map((s) => s.name)).toContain('pipelines.run.scheduled');
    const done = h().ferry.bus.next('run:completed', (e) => e.pipeline === 'scheduled');
    if (!definition) return;
    await h().ferry.jobs.send(definition, {} as never);
    const completed = await done;
    expect(completed.summary).toMatchObject({ succeeded: 1 });
    const runs = await h().get('/api/v1/pipelines/scheduled/runs');
    expect(runs.body).toMatchObject({ items: [{ trigger: 'schedule', status: 'completed' }] });
  });
});
