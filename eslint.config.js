// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  // .tmp/ holds files the tests generate (the doc-blocks test's snippets): linted, they made a second `make test` fail.
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'python/**', 'test-results/**', 'bench-results/**', '.tmp/**'] },
  js.configs.recommended,
  // Type-checked rules: floating promises, unsafe `any` flows, unnecessary assertions, awaits of non-promises.
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'examples/*.mjs', 'test/*/fixtures/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Plain JavaScript run by the tests (examples import the built package, which a clean clone has
    // not built when lint runs): the type-aware rules would only see unresolved types there.
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The web dashboard's page: plain browser modules (served as they are, no build step).
    files: ['src/dashboard/web/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // vitest's asymmetric matchers (`expect.any(Number)`, `expect.stringMatching`) are typed `any`.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);
