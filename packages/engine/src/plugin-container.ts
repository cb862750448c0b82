import 'reflect-metadata';
import { container as globalContainer, instanceCachingFactory, instancePerContainerCachingFactory } from 'tsyringe';
import type { DependencyContainer } from 'tsyringe';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { Disposable, ProviderRegistrar, ProviderScope, Resolver, Token } from '@beddel/contracts';

/**
 * The only place that touches tsyringe. Plugins see `ProviderRegistrar` / `Resolver`, so no
 * other package depends on the DI library. The root container is a child of tsyringe's global
 * one, never the global itself, so two engines in one process share nothing.
 */
export class PluginContainer {
  private readonly root: DependencyContainer = globalContainer.createChildContainer();
  /** Disposables created by tenant-scoped factories, per tenant container. */
  private readonly tenantDisposables = new WeakMap<DependencyContainer, Disposable[]>();

  readonly registrar: ProviderRegistrar = {
    value: <T>(token: Token<T>, value: T) => {
      this.root.registerInstance<T>(token, value);
    },
    factory: <T>(token: Token<T>, factory: (resolver: Resolver) => T, options: { readonly scope?: ProviderScope } = {}) => {
      if ((options.scope ?? 'engine') === 'engine') {
        this.root.register<T>(token, { useFactory: instanceCachingFactory<T>((dependencies) => factory(resolverFor(dependencies))) });
        return;
      }
      this.root.register<T>(token, {
        useFactory: instancePerContainerCachingFactory<T>((dependencies) => {
          const instance = factory(resolverFor(dependencies));
          if (isDisposable(instance)) {
            const list = this.tenantDisposables.get(dependencies) ?? [];
            list.push(instance);
            this.tenantDisposables.set(dependencies, list);
          }
          return instance;
        }),
      });
    },
  };

  readonly resolver: Resolver = resolverFor(this.root);

  /** Whether anything provides `token`, without building it (tenant-scoped factories need a tenant). */
  has<T>(token: Token<T>): boolean {
    return this.root.isRegistered(token, true);
  }

  /** A child container for one tenant; `values` are registered in it only. */
  createTenantScope(values: ReadonlyArray<readonly [Token<unknown>, unknown]>): TenantScope {
    const child = this.root.createChildContainer();
    for (const [token, value] of values) child.registerInstance(token, value);
    return {
      resolver: resolverFor(child),
      dispose: async () => {
        const disposables = this.tenantDisposables.get(child) ?? [];
        this.tenantDisposables.delete(child);
        for (const disposable of disposables.reverse()) await disposable.dispose();
      },
    };
  }
}

export interface TenantScope {
  readonly resolver: Resolver;
  dispose(): Promise<void>;
}

function resolverFor(dependencies: DependencyContainer): Resolver {
  return {
    resolve<T>(token: Token<T>): T {
      if (!dependencies.isRegistered(token, true)) {
        throw new BeddelError(ErrorCodes.PLUGIN_MISSING, `Nothing provides ${token.description ?? 'an unnamed token'}.`);
      }
      return dependencies.resolve<T>(token);
    },
    resolveOptional<T>(token: Token<T>): T | undefined {
      return dependencies.isRegistered(token, true) ? dependencies.resolve<T>(token) : undefined;
    },
  };
}

function isDisposable(value: unknown): value is Disposable {
  return typeof value === 'object' && value !== null && typeof (value as { dispose?: unknown }).dispose === 'function';
}
