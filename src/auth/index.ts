export {
  guard,
  isLoopback,
  principalKey,
  type Access,
  type Principal,
  type Role,
  type Verdict,
} from './principal.ts';
export {
  apiKeyOwner,
  createApiKey,
  ensureBootstrapKey,
  hashApiKey,
  listApiKeys,
  principalForApiKey,
  revokeApiKey,
  type ApiKeyInfo,
  type NewApiKey,
} from './api-keys.ts';
export { listOwner, mayAccess, ownerFor, scopeOf, scopeOrNone, type Scope } from './ownership.ts';
export {
  makeAccounts,
  defaultUsername,
  type Accounts,
  type TokenPair,
  type RegisterInput,
} from './accounts.ts';
export {
  makeCredentialCache,
  notifyCredentialsChanged,
  credentialsChannel,
  type CredentialCache,
} from './credential-cache.ts';
export { makeTokenSigner, loadJwtSecret, type TokenSigner, type AccessClaims } from './tokens.ts';
export { hashPassword, verifyPassword, passwordProblem } from './passwords.ts';
export type { PublicUser } from './users.ts';
