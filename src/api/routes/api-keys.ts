/** API keys for machines: create (secret shown once), list, revoke. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import {
  apiKeyOwner,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiKeyInfo,
  type NewApiKey,
} from '../../auth/index.ts';
import { listOwner, mayAccess, ownerFor, scopeOf } from '../../auth/ownership.ts';
import { findUserById } from '../../auth/users.ts';
import type { Db } from '../../db/index.ts';
import { FerryError, invalidFields } from '../../errors/index.ts';
import { PathId, Text, typed } from '../schemas/index.ts';

const Create = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 100 }),
    role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')])),
    /** The user the key acts as; admins only. Defaults to the caller's own user. */
    user_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  },
  { additionalProperties: false },
);

function show(info: ApiKeyInfo) {
  return {
    id: info.id,
    name: info.name,
    prefix: info.prefix,
    role: info.role,
    created_at: info.created_at.toISOString(),
    last_used_at: info.last_used_at?.toISOString() ?? null,
  };
}

/**
 * Decides what key a caller may create: admin keys only by admins; a user-role key always acts
 * as a user (the caller's own, or for admins the `user_id` they name), never as nobody.
 */
async function newKey(
  db: Db,
  request: FastifyRequest,
  body: Static<typeof Create>,
): Promise<NewApiKey> {
  const scope = scopeOf(request.principal);
  const role = body.role ?? 'user';
  if (role === 'admin' && !scope.all)
    throw new FerryError('FERRY_ERR_FORBIDDEN', { role: 'admin' });
  if (body.user_id !== undefined && !scope.all && body.user_id !== scope.userId) {
    throw new FerryError('FERRY_ERR_FORBIDDEN', { role: 'admin' });
  }
  const userId = body.user_id ?? ownerFor(scope);
  if (body.user_id !== undefined && !(await findUserById(db, body.user_id))) {
    throw invalidFields([{ field: 'body.user_id', message: 'no such user' }]);
  }
  if (role === 'admin') return { name: body.name, role, userId: userId ?? undefined };
  if (userId === null) throw new FerryError('FERRY_ERR_API_KEY_OWNER_REQUIRED');
  return { name: body.name, role, userId };
}

export function apiKeyRoutes(deps: { db: Db; revoked?: () => void }) {
  const { db } = deps;
  return function registerApiKeyRoutes(instance: FastifyInstance): void {
    const app = typed(instance);
    const tags = ['api keys'];
    app.post(
      '/api/v1/api-keys',
      { config: { access: 'user' }, schema: { tags, body: Create } },
      async function create(request, reply) {
        const { key, info } = await createApiKey(db, await newKey(db, request, request.body));
        return reply.status(201).send({ ...show(info), key });
      },
    );
    app.get(
      '/api/v1/api-keys',
      { config: { access: 'user' }, schema: { tags } },
      async function list(request) {
        const keys = await listApiKeys(db, listOwner(scopeOf(request.principal)));
        return keys.map(show);
      },
    );
    app.delete(
      '/api/v1/api-keys/:id',
      { config: { access: 'user' }, schema: { tags, params: PathId } },
      async function revoke(request, reply) {
        const { id } = request.params;
        const owner = await apiKeyOwner(db, id);
        if (!owner) throw new FerryError('FERRY_ERR_API_KEY_NOT_FOUND', { id });
        if (!mayAccess(scopeOf(request.principal), owner.userId)) {
          throw new FerryError('FERRY_ERR_FORBIDDEN', { role: 'admin' });
        }
        await revokeApiKey(db, id);
        deps.revoked?.();
        return reply.status(204).send();
      },
    );
  };
}
