import { EXECUTOR, LOGGER, METRICS } from '@beddel/contracts';
import type { EnginePlugin } from '@beddel/contracts';
import { IsolatedVmExecutor } from './isolated-vm-executor.js';
import type { IsolatedVmExecutorOptions } from './isolated-vm-executor.js';

/** The executor plugin: `createEngine({ plugins: [isolatedVmExecutor()] })`. */
export function isolatedVmExecutor(options: IsolatedVmExecutorOptions = {}): EnginePlugin {
  let executor: IsolatedVmExecutor | undefined;
  return {
    name: 'executor-isolated-vm',
    register(registrar) {
      registrar.factory(EXECUTOR, (resolver) => {
        executor ??= new IsolatedVmExecutor({
          ...options,
          logger: options.logger ?? resolver.resolveOptional(LOGGER),
          metrics: options.metrics ?? resolver.resolveOptional(METRICS),
        });
        return executor;
      });
    },
    async init(resolver) {
      const resolved = resolver.resolve(EXECUTOR);
      if (resolved instanceof IsolatedVmExecutor) await resolved.start();
    },
    async dispose() {
      await executor?.close();
    },
  };
}
