/** API keys for machines: create (secret shown once), list, revoke. */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import {
  apiKeyOwner,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiKeyInfo,
} from '../../auth/index.ts';
import type { Db } from '../../db/index.ts';
import { FerryError } from '../../errors/index.ts';

const Create = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')])),
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

export function apiKeyRoutes(deps: { db: Db }) {
  const { db } = deps;
  return function registerApiKeyRoutes(app: FastifyInstance): void {
    const tags = ['api keys'];
    app.post(
      '/api/v1/api-keys',
      { config: { access: 'user' }, schema: { tags, body: Create } },
      async function create(request, reply) {
        const body = request.body as Static<typeof Create>;
        const principal = request.principal;
        const role = body.role ?? 'user';
        if (role === 'admin' && principal?.role !== 'admin') {
          throw new FerryError('FERRY_ERR_FORBIDDEN', { role: 'admin' });
        }
        const { key, info } = await createApiKey(db, {
          name: body.name,
          role,
          ...(principal?.userId !== undefined ? { userId: principal.userId } : {}),
        });
        return reply.status(201).send({ ...show(info), key });
      },
    );
    app.get(
      '/api/v1/api-keys',
      { config: { access: 'user' }, schema: { tags } },
      async function list(request) {
        const principal = request.principal;
        const keys = await listApiKeys(
          db,
          principal?.role === 'admin' ? undefined : (principal?.userId ?? -1),
        );
        return keys.map(show);
      },
    );
    app.delete(
      '/api/v1/api-keys/:id',
      {
        config: { access: 'user' },
        schema: { tags, params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) },
      },
      async function revoke(request, reply) {
        const { id } = request.params as { id: number };
        const owner = await apiKeyOwner(db, id);
        if (!owner) throw new FerryError('FERRY_ERR_API_KEY_NOT_FOUND', { id });
        const principal = request.principal;
        if (principal?.role !== 'admin' && owner.userId !== principal?.userId) {
          throw new FerryError('FERRY_ERR_FORBIDDEN', { role: 'admin' });
        }
        await revokeApiKey(db, id);
        return reply.status(204).send();
      },
    );
  };
}
