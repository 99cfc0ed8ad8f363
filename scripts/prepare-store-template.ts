/** postinstall: prepares the empty PGlite data-dir template so a first start takes ~1 s, not ~6 s. */
import { prepareTemplate } from '../src/db/pglite-template.ts';

try {
  const file = await prepareTemplate();
  console.log(`ferry: embedded store template ready (${file})`);
} catch (error) {
  // Never fail an install over this: without the template the first start just runs initdb.
  console.warn(
    `ferry: store template not prepared (${(error as Error).message}); first start will be slower`,
  );
}
