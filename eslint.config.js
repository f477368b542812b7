// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * Which top-level folder may import which: README.md, "Layout and dependencies". Contracts live in
 * schemas/, shared infrastructure in platform/; components (COMPONENTS) depend on those two and
 * never on each other, so a component can change, split or move without another one breaking. Their
 * tests may also use test/ (which may reach another component for them) and deploy/'s dev services.
 * deploy/, all-in-one/ (the composition root), bench/ and test/ may import anything.
 * Only relative and `#` alias specifiers name a folder, so a regular expression over the specifier
 * is enough; bare package names never match.
 */
const COMPONENTS = ['agent', 'ingest', 'stream-processors', 'query-api', 'storage', 'admin']
const FOLDERS = [...COMPONENTS, 'schemas', 'platform', 'deploy', 'all-in-one', 'bench', 'loadtest', 'test']
const TESTS = ['**/*.test.ts', '**/__tests__/**']

/** A config block refusing, in `folder`, imports of every top-level folder not in `allowed`. */
function onlyImports(folder, allowed, { tests = false } = {}) {
  const forbidden = FOLDERS.filter((f) => f !== folder && !allowed.includes(f))
  return {
    files: tests ? TESTS.map((t) => `${folder}/${t}`) : [`${folder}/**/*.ts`],
    ...(tests ? {} : { ignores: TESTS.map((t) => `${folder}/${t}`) }),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(?:(?:\\.\\./)+|#)(?:${forbidden.join('|')})/`,
              message: `${folder}/${tests ? ' tests' : ''} may import only ${[...new Set([folder, ...allowed])].join(', ')} (README.md, Layout and dependencies)`,
            },
          ],
        },
      ],
    },
  }
}

const layout = [
  ...COMPONENTS.flatMap((c) => [
    onlyImports(c, ['schemas', 'platform']),
    onlyImports(c, ['schemas', 'platform', 'test', 'deploy'], { tests: true }),
  ]),
  onlyImports('schemas', ['platform']),
  onlyImports('schemas', ['platform', 'test'], { tests: true }),
  onlyImports('platform', []),
  onlyImports('platform', ['test'], { tests: true }),
  // bench/ builds on loadtest/ (its simulator and measurements), never the other way round.
  onlyImports(
    'loadtest',
    FOLDERS.filter((f) => f !== 'bench'),
  ),
  onlyImports(
    'loadtest',
    FOLDERS.filter((f) => f !== 'bench'),
    { tests: true },
  ),
]

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.data/',
      '.cache/',
      'coverage/',
      'test-artifacts/',
      'query-api/public/vendor/',
      'dist/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layout,
  {
    // Browser code served to the dashboard: plain ESM JavaScript, no type information.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['query-api/public/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        localStorage: 'readonly',
        EventSource: 'readonly',
        URLSearchParams: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        requestAnimationFrame: 'readonly',
        ResizeObserver: 'readonly',
        Intl: 'readonly',
        performance: 'readonly',
      },
    },
  },
)
