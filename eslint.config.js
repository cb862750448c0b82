// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'No export * barrels: name what the package exposes.' }],
    },
  },
  // The guest harness (ADR 0005): a plain script evaluated in every sandbox context before tenant
  // code. Type-checked by its own tsconfig (checkJs), so no type-aware lint rules here. After its
  // capture prologue it may name no global (tenant code can replace them) and use no syntax that
  // consults tenant-modifiable iterators or prototypes.
  { files: ['packages/executor-isolated-vm/src/guest/**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['packages/executor-isolated-vm/src/guest/**/*.js'],
    languageOptions: { sourceType: 'script', ecmaVersion: 2022 },
    rules: {
      'no-restricted-globals': [
        'error',
        ...[
          'globalThis', 'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt', 'Date', 'RegExp',
          'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError',
          'JSON', 'Math', 'Intl', 'Reflect', 'Proxy', 'Promise', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef',
          'FinalizationRegistry', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics', 'Int8Array', 'Uint8Array',
          'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array',
          'BigInt64Array', 'BigUint64Array', 'eval', 'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'encodeURI',
          'encodeURIComponent', 'decodeURI', 'decodeURIComponent', 'escape', 'unescape', 'WebAssembly', 'console',
        ].map((name) => ({ name, message: 'Capture it in the harness prologue: a global looked up later may be tenant-replaced (ADR 0005).' })),
      ],
      'no-restricted-syntax': [
        'error',
        ...['ForOfStatement', 'ForInStatement', 'SpreadElement', 'ArrayPattern', 'ObjectPattern'].map((selector) => ({
          selector,
          message: 'Iterators, enumeration and destructuring consult tenant-modifiable prototypes: use an index loop over a value the harness made (ADR 0005).',
        })),
        { selector: "Identifier[name='arguments']", message: 'Use a rest parameter (ADR 0005).' },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.int.test.ts', '**/test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
