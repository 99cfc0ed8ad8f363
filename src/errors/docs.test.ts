/** Docs match behaviour: every error code and config key is documented. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeys } from '../config/index.ts';
import { errorCodes } from './index.ts';

const read = (file: string) => readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');

describe('reference docs', () => {
  it('docs/errors.md lists every registered code with its status and retryable flag', () => {
    const doc = read('errors.md');
    for (const [code, spec] of Object.entries(errorCodes)) {
      const retryable = spec.retryable ? 'yes' : 'no';
      expect(doc, code).toMatch(
        new RegExp(`\\| \`${code}\`\\s*\\| ${spec.status}\\s*\\| ${retryable}\\s*\\|`),
      );
    }
  });

  it('docs/configuration.md lists every key with its env variable', () => {
    const doc = read('configuration.md');
    for (const key of configKeys) {
      expect(doc, key.dotted).toMatch(new RegExp(`\\| \`${key.dotted}\`\\s*\\| \`${key.env}\``));
    }
  });
});
