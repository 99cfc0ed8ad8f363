export {
  guard,
  isLoopback,
  type Access,
  type Principal,
  type Role,
  type Verdict,
} from './principal.ts';
export {
  createApiKey,
  ensureBootstrapKey,
  hashApiKey,
  principalForApiKey,
  type ApiKeyInfo,
} from './api-keys.ts';
