/** `ferry users create-admin`: makes an admin account without going through the API. */
import { readFileSync } from 'node:fs';
import { loadJwtSecret, makeAccounts, makeTokenSigner } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { migrate, openStore } from '../db/index.ts';
import { FerryError } from '../errors/index.ts';

export interface CreateAdminOptions {
  email: string | undefined;
  username: string | undefined;
  password: string | undefined;
  /** Read the password from standard input (keeps it out of `ps` and shell history). */
  passwordStdin: boolean;
}

export async function createAdmin(config: Config, options: CreateAdminOptions): Promise<number> {
  const password = options.passwordStdin
    ? readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    : options.password;
  if (!options.email || !password) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', {
      reason: 'users create-admin needs --email and --password (or --password-stdin)',
    });
  }
  const store = await openStore(config, () => undefined);
  try {
    await migrate(store.db);
    const accounts = makeAccounts({
      db: store.db,
      signer: makeTokenSigner(await loadJwtSecret(store.db, config.auth.jwt_secret)),
      config: config.auth,
      now: () => new Date(),
    });
    const user = await accounts.register(
      { email: options.email, password, username: options.username },
      'admin',
    );
    console.log(`created admin ${user.username} <${user.email}> (id ${user.id})`);
    return 0;
  } finally {
    await store.close();
  }
}
