/**
 * The pipeline scenarios of issue 5's "Done when", written once and run against every kind of
 * source (a local folder, an SMB share). Each takes a function returning the suite's harness.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { expect, it as vitestIt } from 'vitest';
import type { PipelineHarness } from './pipeline-harness.ts';

type Get = () => PipelineHarness;

interface FileItem {
  id: number;
  remitter: string;
  base_name: string;
  path: string;
  status: string;
  archived: boolean;
  notified: boolean;
}

/** Files of a pipeline with their latest status, for one remitter. */
export async function filesOf(h: PipelineHarness, remitter: string, pipeline = 'main') {
  const res = await h.get(`/api/v1/pipelines/${pipeline}/files?limit=1000`);
  return (res.body as { items: FileItem[] }).items.filter((f) => f.remitter === remitter);
}

/** Ledger rows of one file, oldest first. */
export async function historyOf(h: PipelineHarness, id: number, pipeline = 'main') {
  const res = await h.get(`/api/v1/pipelines/${pipeline}/files/${id}/history`);
  return (res.body as { items: { status: string; attempt: number }[] }).items;
}

/** Names under a folder of the test tree, recursively, sorted. */
export function listTree(h: PipelineHarness, ...parts: string[]): string[] {
  const dir = h.at(...parts);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => `${d.parentPath.slice(dir.length + 1)}/${d.name}`.replace(/^\//, ''))
    .sort();
}

/** Counts of calls to the fakes, for "nothing new happened" checks. */
export function callCounts(h: PipelineHarness) {
  return {
    extractor: h.fakes.extractor.calls.length,
    submitter: h.fakes.submitter.calls.length,
    notifier: h.fakes.notifier.calls.length,
  };
}

/** Happy path, versions, temp names, stability and archive failure: run on every source kind. */
export function coreScenarios(h: Get, only: (name: string) => boolean = () => true): void {
  const it = (name: string, fn: () => Promise<void>) => {
    if (only(name)) vitestIt(name, fn);
  };
  it('happy path: one submission, zero notifications, success, archived', async () => {
    const x = h();
    x.put('in', 'acme/REPORT.xlsx', 'rows of acme');
    const { status, body, settled } = await x.run();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      pipeline: 'main',
      summary: {
        scanned: 1,
        temp_ignored: 0,
        older_versions: 0,
        unstable: 0,
        claimed: 1,
        already_claimed: 0,
        succeeded: 1,
        failed: {},
        archived: 1,
      },
      error: [],
    });
    await settled;
    const [extract] = x.fakes.extractor.calls;
    expect(extract?.path).toBe('/main/extract/acme');
    expect(extract?.headers.authorization).toBe('Bearer static-extractor-token');
    expect(extract?.body).toEqual({ client: 'acme', document: 'REPORT.xlsx' });
    expect(extract?.files.file).toEqual({ name: 'REPORT.xlsx', text: 'rows of acme' });
    expect(x.fakes.submitter.calls).toHaveLength(1);
    const submit = x.fakes.submitter.calls[0];
    expect(submit?.headers.authorization).toBe('Bearer token-1');
    expect(submit?.headers['x-tenant']).toBe('ferry-test');
    expect(x.fakes.submitter.tokenCalls[0]?.body).toMatchObject({
      grant_type: 'client_credentials',
      client_id: 'ferry',
      client_secret: 'shh',
      scope: 'instructions',
    });
    const instructions = (submit?.body as { instructions: Record<string, unknown>[] }).instructions;
    expect(instructions).toHaveLength(2);
    expect(instructions[0]).toMatchObject({
      clientIdentifier: 'acme',
      payload: JSON.stringify({ invoice: 'A-1', amount: 10 }),
      channel: 'ferry',
    });
    expect(instructions[0]?.sourceUniqueRef).toMatch(/^main:[0-9a-f]{32}:0$/);
    expect(x.fakes.notifier.calls).toHaveLength(0);
    expect(listTree(x, 'in')).toEqual([]);
    expect(listTree(x, 'archive')).toEqual(['acme/REPORT.xlsx']);
    const [file] = await filesOf(x, 'acme');
    expect(file).toMatchObject({ status: 'success', archived: true, base_name: 'REPORT.xlsx' });
    expect((await historyOf(x, file?.id ?? 0)).map((r) => r.status)).toEqual([
      'processing',
      'submitting',
      'success',
      'archive_succeeded',
    ]);
    const run = await x.get(`/api/v1/pipelines/main/runs/${body.run_id}`);
    expect(run.body).toMatchObject({ status: 'completed', archive: { moved: 1, failed: 0 } });
  });

  it('versions: only the newest is processed, older ones archived with no ledger row', async () => {
    const x = h();
    x.put('in', 'v14/REPORT_20251105120450.xlsx', 'old 14');
    x.put('in', 'v14/REPORT_20251105120451.xlsx', 'new 14');
    x.put('in', 'v8/STATEMENT_20251104.pdf', 'old 8');
    x.put('in', 'v8/STATEMENT_20251105.pdf', 'new 8');
    x.put('in', 'mixed/R.20251105235959.csv', 'mixed old');
    x.put('in', 'mixed/R_20251106.csv', 'mixed new');
    x.put('in', 'mixed/R_20251105.csv', 'mixed older');
    x.put('in', 'odd/R_20251105T120450.csv', 'T form');
    x.put('in', 'odd/R_20251105120450123.csv', 'ms form');
    const body = await x.runSettled();
    expect(body.summary).toMatchObject({ scanned: 9, older_versions: 4, claimed: 5, succeeded: 5 });
    const uploaded = x.fakes.extractor.calls.map((c) => c.files.file?.text).sort();
    expect(uploaded).toEqual(['T form', 'mixed new', 'ms form', 'new 14', 'new 8']);
    expect(listTree(x, 'in')).toEqual([]);
    expect(listTree(x, 'archive')).toEqual([
      'mixed/R.20251105235959.csv',
      'mixed/R_20251105.csv',
      'mixed/R_20251106.csv',
      'odd/R_20251105120450123.csv',
      'odd/R_20251105T120450.csv',
      'v14/REPORT_20251105120450.xlsx',
      'v14/REPORT_20251105120451.xlsx',
      'v8/STATEMENT_20251104.pdf',
      'v8/STATEMENT_20251105.pdf',
    ]);
    const files = [
      ...(await filesOf(x, 'v14')),
      ...(await filesOf(x, 'v8')),
      ...(await filesOf(x, 'mixed')),
      ...(await filesOf(x, 'odd')),
    ];
    expect(files.map((f) => `${f.remitter}/${f.base_name}:${f.path}`).sort()).toEqual([
      'mixed/R.csv:mixed/R_20251106.csv',
      'odd/R_20251105120450123.csv:odd/R_20251105120450123.csv',
      'odd/R_20251105T120450.csv:odd/R_20251105T120450.csv',
      'v14/REPORT.xlsx:v14/REPORT_20251105120451.xlsx',
      'v8/STATEMENT.pdf:v8/STATEMENT_20251105.pdf',
    ]);
  });

  it('temp names are ignored and left in place', async () => {
    const x = h();
    for (const name of [
      '~$REPORT.xlsx',
      'big.part',
      'x.tmp',
      '.hidden',
      'y.partial',
      'z.crdownload',
    ]) {
      x.put('in', `temp/${name}`, 'busy');
    }
    const body = await x.runSettled();
    expect(body.summary).toMatchObject({ scanned: 6, temp_ignored: 6, claimed: 0 });
    expect(callCounts(x)).toEqual({ extractor: 0, submitter: 0, notifier: 0 });
    expect(listTree(x, 'in', 'temp')).toHaveLength(6);
  });

  it('a file modified within the stability window is skipped: no row, no call, no move', async () => {
    const x = h();
    x.put('in', 'fresh/NEW.xlsx', 'still moving', { recent: true });
    const body = await x.runSettled();
    expect(body.summary).toMatchObject({ scanned: 1, unstable: 1, claimed: 0 });
    expect(callCounts(x)).toEqual({ extractor: 0, submitter: 0, notifier: 0 });
    expect(await filesOf(x, 'fresh')).toEqual([]);
    expect(listTree(x, 'in')).toEqual(['fresh/NEW.xlsx']);
  });

  it('a slow upload is skipped until complete, then processed by a later run', async () => {
    const x = h();
    x.put('sampled', 'slow/UPLOAD.xlsx', 'part 1');
    let growing = true;
    x.onSleep = () => {
      if (growing)
        writeFileSync(x.at('sampled', 'slow/UPLOAD.xlsx'), `part 1 + ${Date.now()}`, { flag: 'a' });
    };
    const first = await x.runSettled('sampled');
    expect(first.summary).toMatchObject({ unstable: 1, claimed: 0 });
    expect(x.fakes.extractor.calls).toHaveLength(0);
    growing = false;
    const second = await x.runSettled('sampled');
    expect(second.summary).toMatchObject({ unstable: 0, claimed: 1, succeeded: 1 });
    expect(x.fakes.extractor.calls[0]?.files.file?.text).toMatch(/^part 1part 1 \+ \d+/);
    expect(listTree(x, 'sampled-archive')).toEqual(['slow/UPLOAD.xlsx']);
  });

  it('a failed archive move is logged, the run succeeds, and the next run retries it', async () => {
    const x = h();
    x.put('in', 'blocked/DOC.pdf', 'content');
    // A file where the remitter's archive folder should be makes the move fail.
    x.put('archive', 'blocked', 'not a folder');
    const { status, body, settled } = await x.run();
    expect(status).toBe(200);
    expect(body.summary).toMatchObject({ succeeded: 1 });
    await settled;
    const run = await x.get(`/api/v1/pipelines/main/runs/${body.run_id}`);
    expect(run.body).toMatchObject({ status: 'completed', archive: { moved: 0, failed: 1 } });
    expect((run.body as { error: { error: string }[] }).error[0]?.error).toMatch(
      /archive move failed/,
    );
    expect(x.logs.some((l) => l.stage === 'archive' && l.status === 'error')).toBe(true);
    expect(listTree(x, 'in')).toEqual(['blocked/DOC.pdf']);
    const [file] = await filesOf(x, 'blocked');
    expect(file).toMatchObject({ status: 'success', archived: false });
    rmSync(x.at('archive', 'blocked'));
    const again = await x.runSettled();
    expect(again.summary).toMatchObject({ already_claimed: 1, claimed: 0 });
    expect(x.fakes.extractor.calls).toHaveLength(1);
    expect(listTree(x, 'in')).toEqual([]);
    expect(listTree(x, 'archive')).toEqual(['blocked/DOC.pdf']);
    expect((await filesOf(x, 'blocked'))[0]).toMatchObject({ archived: true });
  });

  it('several remitters at once, and an archive name clash gets a suffix', async () => {
    const x = h();
    for (const r of ['north', 'south', 'east']) x.put('in', `${r}/LIST.csv`, `list of ${r}`);
    x.put('archive', 'north/LIST.csv', 'an earlier archived list');
    const body = await x.runSettled();
    expect(body.summary).toMatchObject({ claimed: 3, succeeded: 3 });
    expect(x.fakes.extractor.calls.map((c) => c.path).sort()).toEqual([
      '/main/extract/east',
      '/main/extract/north',
      '/main/extract/south',
    ]);
    expect(listTree(x, 'archive')).toEqual([
      'east/LIST.csv',
      'north/LIST (1).csv',
      'north/LIST.csv',
      'south/LIST.csv',
    ]);
  });
}
