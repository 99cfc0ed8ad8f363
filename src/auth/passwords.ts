/**
 * argon2id password hashes (node:crypto, OWASP parameters: 19 MiB, 2 passes, 1 lane), stored as
 * PHC strings so parameters can be raised later without invalidating old hashes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const params = { memory: 19456, passes: 2, parallelism: 1, tagLength: 32 } as const;

/**
 * Every hash runs on one worker thread, one at a time. A hash takes 19 MiB for tens of
 * milliseconds. On libuv's pool, a login flood held the threads file I/O needs, and each pool
 * thread's malloc arena kept its own 19 MiB or more for the life of the process: 115 MB of RSS
 * after 45 failed logins, which never came back (issue 10). One thread keeps one arena.
 */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { argon2Sync } = require('node:crypto');
parentPort.on('message', ({ id, params }) => {
  try {
    parentPort.postMessage({ id, key: argon2Sync('argon2id', params) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});
`;

interface Answer {
  id: number;
  key?: Uint8Array;
  error?: string;
}

interface Waiter {
  resolve: (key: Buffer) => void;
  reject: (error: Error) => void;
}

type Params = { memory: number; passes: number; parallelism: number; tagLength: number };

/**
 * Derives keys on one worker thread started on first use. A thread that fails or exits (with or
 * without an error) rejects the hashes it owed, and the next hash starts a fresh one. `source`
 * is the worker's code (tests pass one that exits on cue).
 */
export function makeHasher(source = workerSource) {
  let current: { thread: Worker; owed: Map<number, Waiter> } | undefined;
  let nextId = 0;

  function start() {
    const thread = new Worker(source, { eval: true });
    const owed = new Map<number, Waiter>();
    const started = { thread, owed };
    const fail = (error: Error) => {
      for (const waiter of owed.values()) waiter.reject(error);
      owed.clear();
      if (current === started) current = undefined;
    };
    thread.on('message', ({ id, key, error }: Answer) => {
      const waiter = owed.get(id);
      owed.delete(id);
      if (owed.size === 0) thread.unref();
      if (key) waiter?.resolve(Buffer.from(key));
      else waiter?.reject(new Error(error ?? 'argon2 failed'));
    });
    thread.on('error', fail);
    thread.on('exit', (code: number) => {
      fail(new Error(`the password hashing thread exited (code ${String(code)})`));
    });
    current = started;
    return started;
  }

  return function derive(password: string, salt: Buffer, p: Params): Promise<Buffer> {
    const id = (nextId += 1);
    const { thread, owed } = current ?? start();
    return new Promise((resolve, reject) => {
      owed.set(id, { resolve, reject });
      // Held open only while a hash is owed, so a process with nothing to hash can exit.
      thread.ref();
      thread.postMessage({ id, params: { message: password, nonce: salt, ...p } });
    });
  };
}

const derive = makeHasher();

/** Hashes a password into `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return `$argon2id$v=19$m=${params.memory},t=${params.passes},p=${params.parallelism}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Checks a password against a stored PHC hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (!match) return false;
  const [, m, t, p, salt = '', hash = ''] = match;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), {
    memory: Number(m),
    passes: Number(t),
    parallelism: Number(p),
    tagLength: expected.length,
  });
  return timingSafeEqual(key, expected);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password, made on first use: checking an unknown user against it costs
 * the same time as a real check, so response times do not reveal which logins exist.
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

/** The password policy; returns the problem in words, or undefined when the password is fine. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 8) return 'must be at least 8 characters';
  if (password.length > 128) return 'must be at most 128 characters';
  if (!/[A-Za-z]/.test(password) || !/\d/.test(password))
    return 'must contain at least one letter and one digit';
  return undefined;
}
