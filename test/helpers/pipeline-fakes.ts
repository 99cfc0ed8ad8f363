/**
 * Fake downstream services for pipeline tests: an extractor, a submitter and a notifier, each a
 * real HTTP server on a loopback ephemeral port. A test steers the next answers (`mode`, or a
 * queue with `next(...)`) and reads every call back (`calls`). One server also plays the OAuth2
 * token endpoint (`/token`), and can require the token it last issued.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the next request is answered. */
export type FakeMode =
  | 'ok'
  | 'fail'
  | 'password'
  | 'timeout'
  | 'reset'
  | '5xx'
  | 'nonobject'
  | 'empty'
  | 'noresult'
  | `status:${number}`;

/** One recorded request. */
export interface FakeCall {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body, or the form fields of a multipart body, or the raw text. */
  body: unknown;
  /** Multipart files: field name → { name, text }. */
  files: Record<string, { name: string; text: string }>;
}

/** A steerable fake service. */
export interface FakeService {
  readonly url: string;
  /** Calls to the service itself (token requests are in `tokenCalls`). */
  readonly calls: FakeCall[];
  readonly tokenCalls: FakeCall[];
  /** The answer once the queue is empty. */
  mode: FakeMode;
  /** Answers the next requests in this order, then falls back to `mode`. */
  next(...modes: FakeMode[]): void;
  /** Rows the extractor answers with (mode ok). */
  rows: unknown[];
  /** When set, requests must carry the last issued token, else 401. */
  requireToken: boolean;
  /** Makes the issued token invalid (the next request gets 401 and must refresh). */
  revokeToken(): void;
  /** Token endpoint mode ('ok' or 'fail'). */
  tokenMode: 'ok' | 'fail';
  /** Runs (and is awaited) after a call is recorded and before it is answered. */
  onCall: ((call: FakeCall) => Promise<void> | void) | undefined;
  /** Resolves once `count` calls have been recorded. */
  waitForCalls(count: number): Promise<void>;
  /** Forgets calls, queued modes and hooks; mode back to ok. */
  reset(): void;
  close(): Promise<void>;
}

type Role = 'extractor' | 'submitter' | 'notifier';

const okBody: Record<Role, (service: FakeService) => unknown> = {
  extractor: (s) => ({ result: s.rows, failed: [] }),
  submitter: () => ({ status: 'success', message: 'accepted' }),
  notifier: () => ({ ok: true }),
};

function failBody(role: Role, reason: string): unknown {
  if (role === 'extractor') {
    return {
      result: [],
      failed: [
        {
          status: 'failed',
          failure_reason: reason,
          detailed_failure_reason: `${reason} (detail)`,
          file_name: 'x',
        },
      ],
    };
  }
  return { status: 'rejected', message: `${role} refused: ${reason}` };
}

async function readCall(req: IncomingMessage): Promise<FakeCall> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  const call: FakeCall = {
    method: req.method ?? '',
    path: req.url ?? '',
    headers: req.headers,
    body: raw.toString('utf8'),
    files: {},
  };
  if (type.startsWith('multipart/form-data')) {
    // A fake parses a few small bodies; the Fetch API's parser is enough (busboy is not a dependency).
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    const fields: Record<string, string> = {};
    for (const [name, value] of form) {
      if (typeof value === 'string') fields[name] = value;
      else call.files[name] = { name: value.name, text: await value.text() };
    }
    call.body = fields;
  } else if (type.includes('json')) {
    call.body = JSON.parse(raw.toString('utf8')) as unknown;
  } else if (type.includes('x-www-form-urlencoded')) {
    call.body = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  return call;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The status and body a steered mode answers with; undefined for `timeout` and `reset`. */
function replyFor(role: Role, service: FakeService, mode: FakeMode): [number, unknown] | undefined {
  switch (mode) {
    case 'timeout':
    case 'reset':
      return undefined;
    case 'ok':
      return [200, okBody[role](service)];
    case 'fail':
      return [200, failBody(role, 'no matched template')];
    case 'password':
      return [200, failBody(role, 'Invalid password')];
    case '5xx':
      return [503, { detail: 'service unavailable' }];
    case 'nonobject':
      return [200, '["not", "an", "object"]'];
    case 'noresult':
      return [200, { failed: [] }];
    case 'empty':
      return [200, { result: [], failed: [] }];
  }
  const status = Number(mode.slice('status:'.length));
  return [
    status,
    role === 'extractor' ? failBody(role, `rejected with ${status}`) : { detail: 'no' },
  ];
}

function answer(
  role: Role,
  service: FakeService,
  req: IncomingMessage,
  res: ServerResponse,
  mode: FakeMode,
): void {
  // `timeout` holds the request until the client gives up; `reset` drops the connection.
  if (mode === 'reset') req.socket.destroy();
  const reply = replyFor(role, service, mode);
  if (reply) send(res, ...reply);
}

/** Starts a fake service of one role on 127.0.0.1 (any free port). */
export async function startFakeService(role: Role): Promise<FakeService> {
  const queue: FakeMode[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let tokenSerial = 0;
  let validToken: string | undefined;
  const service: FakeService = {
    url: '',
    calls: [],
    tokenCalls: [],
    mode: 'ok',
    next: (...modes) => queue.push(...modes),
    rows: [
      { invoice: 'A-1', amount: 10 },
      { invoice: 'A-2', amount: 20 },
    ],
    requireToken: false,
    revokeToken() {
      validToken = undefined;
    },
    tokenMode: 'ok',
    onCall: undefined,
    waitForCalls(count) {
      if (service.calls.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    reset() {
      service.calls.length = 0;
      service.tokenCalls.length = 0;
      queue.length = 0;
      service.mode = 'ok';
      service.requireToken = false;
      service.tokenMode = 'ok';
      service.onCall = undefined;
    },
    close: async () => undefined,
  };

  const server = createServer((req, res) => {
    void (async () => {
      const call = await readCall(req);
      if (call.path === '/token') {
        service.tokenCalls.push(call);
        if (service.tokenMode === 'fail') {
          send(res, 500, { error: 'token service down' });
          return;
        }
        validToken = `token-${(tokenSerial += 1)}`;
        send(res, 200, { access_token: validToken, token_type: 'Bearer', expires_in: 3600 });
        return;
      }
      service.calls.push(call);
      for (const w of waiters.filter((x) => service.calls.length >= x.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      await service.onCall?.(call);
      if (service.requireToken && call.headers.authorization !== `Bearer ${validToken ?? '-'}`) {
        send(res, 401, { detail: 'invalid token' });
        return;
      }
      answer(role, service, req, res, queue.shift() ?? service.mode);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(service, {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  });
}

/** The three fakes a pipeline talks to. */
export interface FakeDownstream {
  extractor: FakeService;
  submitter: FakeService;
  notifier: FakeService;
  close(): Promise<void>;
}

/** Starts an extractor, a submitter and a notifier. */
export async function startFakeDownstream(): Promise<FakeDownstream> {
  const [extractor, submitter, notifier] = await Promise.all([
    startFakeService('extractor'),
    startFakeService('submitter'),
    startFakeService('notifier'),
  ]);
  return {
    extractor,
    submitter,
    notifier,
    async close() {
      await Promise.all([extractor.close(), submitter.close(), notifier.close()]);
    },
  };
}
