/**
 * Account routes, PulseBoard-compatible: the same handlers answer under /api/auth and
 * /api/v1/auth. Parse → call accounts → map the result.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import type { Accounts, Principal, PublicUser } from '../../auth/index.ts';
import { FerryError, invalidFields } from '../../errors/index.ts';
import { Text, typed } from '../schemas/index.ts';

const User = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  username: Type.String(),
  full_name: Type.Union([Type.String(), Type.Null()]),
  is_active: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});

const Register = Type.Object(
  {
    email: Text({ format: 'email', maxLength: 254 }),
    password: Type.String({ maxLength: 1024 }),
    full_name: Type.Optional(Type.Union([Text({ maxLength: 255 }), Type.Null()])),
    username: Type.Optional(
      Type.String({ minLength: 3, maxLength: 50, pattern: '^[A-Za-z0-9_.-]+$' }),
    ),
  },
  { additionalProperties: false },
);

const Login = Type.Object(
  {
    username: Type.Optional(Text({ minLength: 1, maxLength: 254 })),
    email: Type.Optional(Text({ minLength: 1, maxLength: 254 })),
    password: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const RefreshBody = Type.Object({ refresh_token: Text({ minLength: 1, maxLength: 512 }) });
const Tokens = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
});

function show(user: PublicUser): Static<typeof User> {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    full_name: user.full_name,
    is_active: user.is_active,
    created_at: user.created_at.toISOString(),
  };
}

/** The signed-in user behind a request, or FERRY_ERR_NO_USER for keys without one. */
export function userIdOf(request: FastifyRequest): number {
  const id = request.principal?.userId;
  if (id === undefined) throw new FerryError('FERRY_ERR_NO_USER');
  return id;
}

export function authRoutes(deps: { accounts: Accounts }) {
  const { accounts } = deps;
  return function registerAuthRoutes(instance: FastifyInstance): void {
    const app = typed(instance);
    for (const prefix of ['/api/v1/auth', '/api/auth']) {
      const tags = ['auth'];
      const hide = prefix === '/api/auth'; // documented once, under /api/v1

      app.post(
        `${prefix}/register`,
        {
          config: { access: 'public' },
          schema: { tags, hide, body: Register, response: { 201: User } },
        },
        async function register(request, reply) {
          const user = await accounts.register(request.body);
          return reply.status(201).send(show(user));
        },
      );

      app.post(
        `${prefix}/login`,
        {
          config: { access: 'public' },
          schema: { tags, hide, body: Login, response: { 200: Tokens } },
        },
        async function login(request) {
          const body = request.body;
          const name = body.username ?? body.email;
          if (name === undefined) {
            throw invalidFields([{ field: 'body.username', message: 'or body.email is required' }]);
          }
          return accounts.login(name, body.password, request.ip);
        },
      );

      app.post(
        `${prefix}/refresh`,
        {
          config: { access: 'public' },
          schema: { tags, hide, body: RefreshBody, response: { 200: Tokens } },
        },
        async function refresh(request) {
          return accounts.refresh(request.body.refresh_token);
        },
      );

      app.post(
        `${prefix}/logout`,
        // The body is optional (`{refresh_token}`), so it is checked here rather than by a schema.
        { config: { access: 'user' }, schema: { tags, hide } },
        async function logout(request) {
          const token = (request.body as { refresh_token?: unknown } | undefined)?.refresh_token;
          if (token !== undefined && typeof token !== 'string') {
            throw invalidFields([{ field: 'body.refresh_token', message: 'must be a string' }]);
          }
          await accounts.logout(request.principal as Principal, token);
          return { message: 'Successfully logged out' };
        },
      );

      app.get(
        `${prefix}/me`,
        { config: { access: 'user' }, schema: { tags, hide, response: { 200: User } } },
        async function me(request) {
          const user = await accounts.me(userIdOf(request));
          if (!user) throw new FerryError('FERRY_ERR_NO_USER');
          return show(user);
        },
      );
    }
  };
}
