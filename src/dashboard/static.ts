/**
 * Serves the built dashboard (web/dist) on Ferry's own port: `/` and every `/ui/…` page answer
 * the app's index.html (so reloading any page works), `/assets/…` the hashed bundles. Nothing
 * else is claimed, so the API's paths and its JSON 404 stay as they were.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build:web` writes the app. */
export const defaultDistDir = fileURLToPath(new URL('../../web/dist/', import.meta.url));

// Everything the page loads comes from Ferry itself: no CDN, fonts or scripts from elsewhere.
const csp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
].join('; ');

const notBuilt = `<!doctype html><meta charset="utf-8"><title>Ferry</title>
<p>The Ferry dashboard is not built. Run <code>npm run build:web</code> (it also runs during
<code>npm install</code>) and reload. The API is at <a href="/docs">/docs</a>.</p>`;

/** Registers the app's routes; `dist` is the built app's folder. */
export async function serveDashboard(app: FastifyInstance, dist = defaultDistDir): Promise<void> {
  const built = existsSync(path.join(dist, 'index.html'));
  await app.register(fastifyStatic, { root: dist, serve: false, decorateReply: true });
  const page = { config: { access: 'public' as const }, schema: { hide: true } };

  function index(_request: unknown, reply: FastifyReply) {
    void reply.header('content-security-policy', csp).header('cache-control', 'no-cache');
    if (!built) return reply.code(503).type('text/html; charset=utf-8').send(notBuilt);
    return reply.sendFile('index.html');
  }
  app.get('/', page, index);
  app.get('/ui', page, index);
  app.get('/ui/*', page, index);
  app.get<{ Params: { '*': string } }>('/assets/*', page, function asset(request, reply) {
    // Hashed names never change content, so browsers may keep them for good.
    void reply.header('cache-control', 'public, max-age=31536000, immutable');
    return reply.sendFile(path.posix.join('assets', request.params['*']));
  });
}
