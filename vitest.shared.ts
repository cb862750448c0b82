import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings. isolated-vm crashes on Node 20+ unless Node starts with
 * --no-node-snapshot, and worker_threads cannot take that flag: tests run in forked
 * child processes that get it.
 */
export function beddelVitestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    test: {
      pool: 'forks',
      execArgv: ['--no-node-snapshot'],
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: 30_000,
    },
  });
}
