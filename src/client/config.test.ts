import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientOptionSpecs, envName, resolveClientConfig } from './config.ts';
import { clientErrorCodes, FerryClientError } from './errors.ts';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryClientError);
    expect((error as FerryClientError).code).toBe('FERRY_CLIENT_ERR_CONFIG');
    return (error as FerryClientError).message;
  }
  throw new Error('expected a refusal');
};

describe('client configuration', () => {
  it('takes defaults from one table, frozen', () => {
    const config = resolveClientConfig({ nodes: ['http://127.0.0.1:8000/'] }, {});
    expect(config.nodes).toEqual(['http://127.0.0.1:8000']);
    for (const [name, spec] of Object.entries(clientOptionSpecs)) {
      expect(config[name as keyof typeof config], name).toEqual(spec.default);
    }
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.nodes)).toBe(true);
  });

  it('reads FERRY_SERVER, FERRY_API_KEY and FERRY_CLIENT_* ; options win over the environment', () => {
    const env = {
      FERRY_SERVER: 'http://a:1, http://b:65535,http://a:1',
      FERRY_API_KEY: 'fry_k',
      FERRY_CLIENT_ORPHAN_GRACE_SECONDS: '60',
      FERRY_CLIENT_RETRY_STRATEGY: 'decorrelated',
      FERRY_CLIENT_LIVE: 'false',
      FERRY_CLIENT_ZONE: 'eu',
    };
    const config = resolveClientConfig({ zone: 'us' }, env);
    expect(config.nodes).toEqual(['http://a:1', 'http://b:65535']);
    expect(config.apiKey).toBe('fry_k');
    expect(config.orphanGraceSeconds).toBe(60);
    expect(config.retryStrategy).toBe('decorrelated');
    expect(config.live).toBe(false);
    expect(config.zone).toBe('us');
    expect(envName('orphanGraceSeconds')).toBe('FERRY_CLIENT_ORPHAN_GRACE_SECONDS');
  });

  it('refuses bad values naming the option, where it came from and what is allowed', () => {
    expect(
      refusal(() => resolveClientConfig({ nodes: 'http://a:1', retryMaxAttempts: 0 }, {})),
    ).toBe(
      'Invalid client configuration: retryMaxAttempts must be an integer from 1 to 100; got 0',
    );
    expect(
      refusal(() =>
        resolveClientConfig(
          {},
          { FERRY_SERVER: 'http://a:1', FERRY_CLIENT_ORPHAN_GRACE_SECONDS: 'soon' },
        ),
      ),
    ).toBe(
      'Invalid client configuration: orphanGraceSeconds (from FERRY_CLIENT_ORPHAN_GRACE_SECONDS) must be an integer from 1 to 86400; got "soon"',
    );
    expect(
      refusal(() =>
        resolveClientConfig({}, { FERRY_SERVER: 'http://a:1', FERRY_CLIENT_RETRYS: '1' }),
      ),
    ).toMatch(/unknown variable FERRY_CLIENT_RETRYS; known: FERRY_CLIENT_ZONE/);
    expect(refusal(() => resolveClientConfig({}, {}))).toMatch(
      /nodes: give at least one node URL .*FERRY_SERVER/,
    );
    expect(refusal(() => resolveClientConfig({ nodes: ['ftp://a'] }, {}))).toMatch(
      /must be an http\(s\) URL/,
    );
    expect(refusal(() => resolveClientConfig({ nodes: ['http://a:65536'] }, {}))).toMatch(
      /is not a URL/,
    );
    expect(refusal(() => resolveClientConfig({ nodes: 'http://a:1', zone: 'zöne' }, {}))).toMatch(
      /zone must be a zone name like eu/,
    );
    expect(
      refusal(() => resolveClientConfig({ nodes: 'http://a:1', apiKey: 'k', token: 't' }, {})),
    ).toMatch(/apiKey or token, not both/);
    expect(
      refusal(() =>
        resolveClientConfig({ nodes: 'http://a:1', retryBaseMs: 500, retryCapMs: 100 }, {}),
      ),
    ).toMatch(/retryBaseMs \(500\) must not exceed retryCapMs \(100\)/);
    expect(
      refusal(() =>
        resolveClientConfig({ nodes: 'http://a:1', ...({ colour: 'red' } as object) }, {}),
      ),
    ).toMatch(/unknown option colour/);
  });

  it('accepts ports 1 and 65535, IPv6 and https', () => {
    const config = resolveClientConfig(
      { nodes: ['http://127.0.0.1:1', 'https://ferry.example:65535', 'http://[::1]:8000'] },
      {},
    );
    expect(config.nodes).toEqual([
      'http://127.0.0.1:1',
      'https://ferry.example:65535',
      'http://[::1]:8000',
    ]);
  });
});

describe('docs/sdk.md', () => {
  const doc = readFileSync(new URL('../../docs/sdk.md', import.meta.url), 'utf8');

  it('lists every option with its variable and default', () => {
    for (const [name, spec] of Object.entries(clientOptionSpecs)) {
      const shown = spec.default === undefined ? '—' : `\`${String(spec.default)}\``;
      expect(doc, name).toMatch(
        new RegExp(
          `\\| \`${name}\`\\s*\\| \`${envName(name as keyof typeof clientOptionSpecs)}\`\\s*\\| ${shown}\\s*\\|`,
        ),
      );
    }
  });

  it('lists every client error code with its retryable flag', () => {
    for (const [code, spec] of Object.entries(clientErrorCodes)) {
      expect(doc, code).toMatch(
        new RegExp(`\\| \`${code}\`\\s*\\| ${spec.retryable ? 'yes' : 'no'}\\s*\\|`),
      );
    }
  });
});
