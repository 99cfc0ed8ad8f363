/**
 * `npm test`: runs the whole vitest suite on both stores when PostgreSQL is reachable.
 * In CI (CI=true) a missing PostgreSQL fails the run; on a laptop the PGlite half runs and
 * the skipped half is named.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminUrl, adminUrlShown, postgresProblem } from '../test/helpers/stores.ts';

const problem = await postgresProblem();
let stores = 'pglite,postgres';
if (problem) {
  if (process.env.CI === 'true' || process.env.CI === '1') {
    console.error(
      `npm test: PostgreSQL is required in CI but ${adminUrlShown} is unreachable: ${problem}`,
    );
    process.exit(1);
  }
  stores = 'pglite';
  console.warn(
    `npm test: PostgreSQL not reachable at ${adminUrlShown} (${problem}).\n` +
      '  Running the PGlite half only; every PostgreSQL-store test is SKIPPED.\n' +
      '  Set FERRY_TEST_DATABASE_URL to a server where the user may create databases to run both.',
  );
} else {
  console.log(`npm test: stores under test: pglite, postgres (${adminUrlShown})`);
}

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const reportDir = mkdtempSync(path.join(tmpdir(), 'ferry-test-report-'));
const reportFile = path.join(reportDir, 'report.json');
const result = spawnSync(
  process.execPath,
  [
    vitest,
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reportFile}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    env: { ...process.env, FERRY_TEST_STORES: stores, FERRY_TEST_DATABASE_URL: adminUrl },
  },
);
printSummary();
rmSync(reportDir, { recursive: true, force: true });
process.exit(result.status ?? 1);

/** One plain closing line (`N passed, N failed, N skipped`) that any CI log reader understands. */
function printSummary(): void {
  try {
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
    };
    const skipped = report.numPendingTests + report.numTodoTests;
    console.log(`\nstores: ${stores}`);
    console.log(
      `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`,
    );
  } catch {
    // No report (vitest crashed before writing it): its own output and exit code say why.
  }
}
