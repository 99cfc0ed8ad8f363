import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isFerryError } from '../errors/index.ts';
import { configKeys, defaults, loadConfig, maskedConfig } from './index.ts';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-config-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (isFerryError(error) && error.code === 'FERRY_ERR_CONFIG_INVALID')
      return error.extra.problems as string[];
    throw error;
  }
  throw new Error('expected FERRY_ERR_CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('uses the defaults when nothing is given, with data_dir made absolute', () => {
    const cwd = dirWith({});
    const config = loadConfig({ cwd, env: {} });
    expect(config.http).toEqual(defaults.http);
    expect(config.data_dir).toBe(path.join(cwd, '.ferry'));
    expect(config.auth.anonymous).toBe('off');
  });

  it('layers defaults → file → env → flags', () => {
    const cwd = dirWith({
      'ferry.config.yaml': 'http:\n  port: 9001\n  host: 0.0.0.0\nlog:\n  level: warn\n',
    });
    const fromFile = loadConfig({ cwd, env: {} });
    expect(fromFile.http).toMatchObject({ port: 9001, host: '0.0.0.0' });
    const fromEnv = loadConfig({ cwd, env: { FERRY_HTTP_PORT: '9002' } });
    expect(fromEnv.http).toMatchObject({ port: 9002, host: '0.0.0.0' });
    expect(fromEnv.log.level).toBe('warn');
    const fromFlag = loadConfig({
      cwd,
      env: { FERRY_HTTP_PORT: '9002' },
      flags: { 'http.port': '9003' },
    });
    expect(fromFlag.http.port).toBe(9003);
  });

  it('reads JSON files and an explicit FERRY_CONFIG path', () => {
    const cwd = dirWith({ 'other.json': '{"auth": {"anonymous": "loopback"}}' });
    expect(loadConfig({ cwd, env: { FERRY_CONFIG: 'other.json' } }).auth.anonymous).toBe(
      'loopback',
    );
  });

  it('maps every key to an env name and no two keys share one', () => {
    const names = configKeys.map((k) => k.env);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('FERRY_AUTH_ANONYMOUS');
    expect(names).toContain('FERRY_VOLUMES');
  });

  it('reads lists from env as comma-separated values', () => {
    const config = loadConfig({ cwd: dirWith({}), env: { FERRY_VOLUMES: '/srv/in, /srv/out' } });
    expect(config.volumes).toEqual([{ path: '/srv/in' }, { path: '/srv/out' }]);
    const cwd = dirWith({});
    const relative = loadConfig({ cwd, env: { FERRY_VOLUMES: 'drop' } });
    expect(relative.volumes).toEqual([{ path: path.join(cwd, 'drop') }]);
  });

  it('accepts DATABASE_URL as well as FERRY_DATABASE_URL', () => {
    const config = loadConfig({
      cwd: dirWith({}),
      env: { DATABASE_URL: 'postgres://u:secret@db:5432/x' },
    });
    expect(config.database_url).toBe('postgres://u:secret@db:5432/x');
  });

  it('refuses unknown keys, naming them and suggesting the right one', () => {
    const cwd = dirWith({ 'ferry.config.yaml': 'http:\n  prot: 1\nbogus: true\n' });
    const problems = problemsOf(() => loadConfig({ cwd, env: {} }));
    expect(problems).toEqual([
      'unknown key bogus',
      'unknown key http.prot; did you mean http.port?',
    ]);
  });

  it('refuses unknown FERRY_* variables, suggesting the nearest key', () => {
    const problems = problemsOf(() =>
      loadConfig({ cwd: dirWith({}), env: { FERRY_HTTP_PROT: '1' } }),
    );
    expect(problems).toEqual(['unknown variable FERRY_HTTP_PROT; did you mean FERRY_HTTP_PORT?']);
  });

  it("leaves the CLI's and the SDK's variables alone (FERRY_SERVER, FERRY_API_KEY, FERRY_CLIENT_*)", () => {
    const env = {
      FERRY_SERVER: 'http://a:1,http://b:2',
      FERRY_API_KEY: 'fry_x',
      FERRY_CLIENT_ORPHAN_GRACE_SECONDS: '60',
      FERRY_CLIENT_ZONE: 'eu',
    };
    expect(() => loadConfig({ cwd: dirWith({}), env })).not.toThrow();
  });

  it('names the flag a bad flag value came from', () => {
    const problems = problemsOf(() =>
      loadConfig({ cwd: dirWith({}), env: {}, flags: { role: 'boss' } }),
    );
    expect(problems).toEqual(["role (from --role): must be one of all, api, worker; got 'boss'"]);
  });

  it('refuses bad values, naming the key, where it came from and what is allowed', () => {
    const cwd = dirWith({});
    expect(problemsOf(() => loadConfig({ cwd, env: { FERRY_HTTP_PORT: 'abc' } }))).toEqual([
      "http.port (from FERRY_HTTP_PORT): must be a whole number; got 'abc'",
    ]);
    const [range] = problemsOf(() => loadConfig({ cwd, env: { FERRY_HTTP_PORT: '70000' } }));
    expect(range).toMatch(/^http\.port \(from FERRY_HTTP_PORT\): .*65535/);
    const [choice] = problemsOf(() => loadConfig({ cwd, env: { FERRY_AUTH_ANONYMOUS: 'yes' } }));
    expect(choice).toBe(
      "auth.anonymous (from FERRY_AUTH_ANONYMOUS): must be one of off, loopback; got 'yes'",
    );
    const [fromFile] = problemsOf(() =>
      loadConfig({ cwd: dirWith({ 'ferry.config.yaml': 'role: boss\n' }), env: {} }),
    );
    expect(fromFile).toMatch(/^role \(from .*ferry\.config\.yaml\): .*\(one of all, api, worker\)/);
  });

  it('reports a file that cannot be parsed', () => {
    const cwd = dirWith({ 'ferry.config.json': '{ nope' });
    expect(problemsOf(() => loadConfig({ cwd, env: {} }))[0]).toMatch(
      /ferry\.config\.json: cannot be parsed/,
    );
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ cwd: dirWith({}), env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('masks secrets when printed', () => {
    const config = loadConfig({
      cwd: dirWith({}),
      env: {
        DATABASE_URL: 'postgres://u:hunter2pw@db:5432/x',
        FERRY_AUTH_JWT_SECRET: 'sigkey-1234',
      },
    });
    const printed = JSON.stringify(maskedConfig(config));
    expect(printed).not.toContain('hunter2pw');
    expect(printed).not.toContain('sigkey-1234');
    expect(maskedConfig(config).database_url).toBe('postgres://u:***@db:5432/x');
    expect((maskedConfig(config).auth as { jwt_secret: string }).jwt_secret).toBe('***');
  });
});
