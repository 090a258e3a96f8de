/**
 * @module connectors/lazy-factory
 * A connector type whose code loads with its first connector: the registry (`registry.ts`) holds
 * only each type's name, kind and config check, so a server that runs no connector of a type
 * does not load its connector, driver glue and catalog code.
 */
import { LoadOnce } from '../load-once.js';
import type { ConnectorFactory } from './types.js';

/** What a type needs before its code loads: `validate` runs on every create, declare and restart. */
export interface LazyConnectorType<Config> {
  readonly type: string;
  readonly kind: ConnectorFactory<Config>['kind'];
  readonly validate: (config: unknown) => Config;
  /** The type's whole factory (its module is imported by this). */
  readonly load: () => Promise<ConnectorFactory<Config>>;
}

export function lazyConnectorFactory<Config>(lazy: LazyConnectorType<Config>): ConnectorFactory<Config> {
  let loaded: ConnectorFactory<Config> | undefined;
  // A failed import (a file missing from the install) is tried again by the next connector.
  const factory = new LoadOnce(() =>
    lazy.load().then((found) => {
      loaded = found;
      return found;
    }),
  );
  const load = (): Promise<ConnectorFactory<Config>> => factory.get();
  return {
    type: lazy.type,
    kind: lazy.kind,
    validate: lazy.validate,
    prepare: async () => {
      await load();
    },
    create(spec, config, context) {
      if (loaded === undefined) {
        throw new Error(`connector type ${lazy.type}: create() before prepare() resolved`);
      }
      return loaded.create(spec, config, context);
    },
    async destroy(spec, config, context) {
      const factory = await load();
      await factory.destroy?.(spec, config, context);
    },
  };
}
