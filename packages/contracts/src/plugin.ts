import type { Token } from './tokens.js';

/** Resolves providers; handed to plugin factories and `init`. */
export interface Resolver {
  resolve<T>(token: Token<T>): T;
  resolveOptional<T>(token: Token<T>): T | undefined;
}

/**
 * `engine`: one instance for the whole engine.
 * `tenant`: one instance per tenant, built in the tenant's child container and disposed
 * (if it has `dispose()`) when the tenant is evicted or the engine closes. Tenant state never
 * lives in an engine-scoped provider.
 */
export type ProviderScope = 'engine' | 'tenant';

export interface ProviderRegistrar {
  value<T>(token: Token<T>, value: T): void;
  factory<T>(token: Token<T>, factory: (resolver: Resolver) => T, options?: { readonly scope?: ProviderScope }): void;
}

/**
 * A plugin is what a factory function such as `isolatedVmExecutor()` returns. The engine calls
 * `register` for every plugin in order, then `init` in order; `engine.close()` calls `dispose`
 * in reverse order. Plugins never import each other or the DI library.
 */
export interface EnginePlugin {
  readonly name: string;
  register(registrar: ProviderRegistrar): void;
  init?(resolver: Resolver): Promise<void> | void;
  dispose?(): Promise<void> | void;
}

/** Anything with a `dispose` is disposed when its scope ends. */
export interface Disposable {
  dispose(): Promise<void> | void;
}
