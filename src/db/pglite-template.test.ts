import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import { makePgliteDb } from './pglite.ts';
import { prepareTemplate, templatePath } from './pglite-template.ts';

describe('PGlite data-dir template', () => {
  const data = tempDir();
  afterAll(() => {
    data.remove();
  });

  it('is prepared once per PGlite version and a new data dir starts from it', async () => {
    expect(await prepareTemplate()).toBe(templatePath());
    expect(existsSync(templatePath())).toBe(true);
    const dir = path.join(data.dir, 'store');
    const db = await makePgliteDb(dir);
    await db.exec('CREATE TABLE kept (v int); INSERT INTO kept VALUES (7);');
    await db.close();
    expect(existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);

    // Reopening uses the directory as it is, never the template again.
    const again = await makePgliteDb(dir);
    expect((await again.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 7 }]);
    await again.close();
  });
});
