export {
  guard,
  isLoopback,
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
} from './api-keys.ts';
export {
  makeAccounts,
  defaultUsername,
  type Accounts,
  type TokenPair,
  type RegisterInput,
} from './accounts.ts';
export { makeTokenSigner, loadJwtSecret, type TokenSigner, type AccessClaims } from './tokens.ts';
export { hashPassword, verifyPassword, passwordProblem } from './passwords.ts';
export type { PublicUser } from './users.ts';
