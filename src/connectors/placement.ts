/**
 * @module connectors/placement
 * Where a connector runs when several gateways share one log (docs/scale-out.md, "Connectors
 * across gateways"): once per cluster, on the gateway holding its lease (`connector/<name>` in the
 * gateways' lease bucket, `broker/cluster.ts`). Every gateway that knows the connector claims the
 * lease; the one that wins runs it, the others keep it in state `standby` and claim again every
 * `recheckMs`, so when the holder dies (its registry entry is older than the gateway TTL) one of
 * them takes the lease over by compare-and-set and starts the connector from its stored position.
 * A single server has no placement: every connector runs there.
 *
 * @example
 * const placement = clusterPlacement(cluster, 2_500);
 * const { mine } = await placement.claim('orders-cdc');
 */
import type { GatewayCluster } from '../broker/cluster.js';

export interface ConnectorPlacement {
  /** Takes or confirms the connector's lease: whether this process runs it, and who holds it. */
  claim(name: string): Promise<{ readonly mine: boolean; readonly holder: string }>;
  /** Gives the lease up (the connector was deleted here). */
  release(name: string): Promise<void>;
  /** Called with a connector's name when another gateway took its lease from this one. */
  onLost(listener: (name: string) => void): void;
  /** How long a connector held elsewhere waits before its lease is claimed again. */
  readonly recheckMs: number;
}

const RESOURCE_PREFIX = 'connector/';

/** The placement of a gateway in `cluster`; a standby connector claims again every `recheckMs`. */
export function clusterPlacement(cluster: GatewayCluster, recheckMs: number): ConnectorPlacement {
  return {
    recheckMs,
    async claim(name) {
      const holder = await cluster.leaseHolderOf(`${RESOURCE_PREFIX}${name}`);
      return { mine: holder.id === cluster.self.id, holder: holder.id };
    },
    release: (name) => cluster.releaseLease(`${RESOURCE_PREFIX}${name}`),
    onLost(listener) {
      cluster.onLeaseLost((resource) => {
        if (resource.startsWith(RESOURCE_PREFIX)) listener(resource.slice(RESOURCE_PREFIX.length));
      });
    },
  };
}
