// Type-aware lint: a dropped promise in a worker loop is a lost file.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers, lowest first; a module may import from its own layer's lower neighbours only as listed.
 * Each entry: the folders under src/ it covers, and the folders it must never import.
 */
const features = ['auth', 'events', 'transfers', 'pipelines', 'live', 'cluster', 'mhl'];
const top = ['api', 'app', 'cli'];
const boundaries = [
  // The client SDK runs in browsers and other programs: nothing from the server side.
  {
    from: ['client'],
    banned: [
      'bus',
      'clock',
      'errors',
      'config',
      'db',
      'jobs',
      'storage',
      'intake',
      ...features,
      ...top,
    ],
  },
  // Time: the one clock every capability takes; it imports nothing.
  {
    from: ['clock'],
    banned: ['bus', 'errors', 'config', 'db', 'jobs', 'storage', 'intake', ...features, ...top],
  },
  {
    from: ['errors'],
    banned: ['bus', 'config', 'db', 'jobs', 'storage', 'intake', ...features, ...top],
  },
  {
    from: ['bus'],
    banned: ['errors', 'config', 'db', 'jobs', 'storage', 'intake', ...features, ...top],
  },
  { from: ['storage'], banned: ['bus', 'config', 'db', 'jobs', 'intake', ...features, ...top] },
  { from: ['config'], banned: ['bus', 'db', 'jobs', 'intake', ...features, ...top] },
  { from: ['db'], banned: ['bus', 'jobs', 'storage', 'intake', ...features, ...top] },
  { from: ['jobs', 'intake'], banned: [...features, ...top] },
  // Features talk to each other through the bus, never through the live channel's folder.
  ...features.map((f) => ({ from: [f], banned: [...top, ...(f === 'live' ? [] : ['live'])] })),
  { from: ['api'], banned: ['app', 'cli'] },
  { from: ['app'], banned: ['cli'] },
];

function importBoundaries() {
  return boundaries.map(({ from, banned }) => ({
    files: from.map((folder) => `src/${folder}/**/*.ts`),
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${banned.join('|')})/`,
              message: `${from.join('/')}/ sits below these modules (docs/architecture.md, Data flow).`,
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['node_modules/', '.ferry/', 'coverage/', 'web/dist/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-extraneous-class': 'off',
      // Handlers are typed to return promises; an async body without await is fine there.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringMatching) are typed any.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  // The one-way flow of docs/architecture.md: a module imports only from modules below it.
  ...importBoundaries(),
  { files: ['eslint.config.js', 'bin/*.js'], ...tseslint.configs.disableTypeChecked },
);
