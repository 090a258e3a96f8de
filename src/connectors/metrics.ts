/**
 * @module connectors/metrics
 * The connectors in /metrics, read from their statuses at every scrape:
 *
 * | metric | labels | value |
 * |---|---|---|
 * | `tributary_connector_state` | connector, type, state | 1 for the connector's current state |
 * | `tributary_connector_lag` | connector, type | bytes of WAL not acknowledged (sources), records not applied (sinks) |
 * | `tributary_connector_records` | connector, type | records moved since the process started |
 * | `tributary_connector_alarm` | connector, type | 1 while the connector's alarm is raised (slot lag over `lagAlarmBytes`) |
 */
import { Gauge, type Registry } from '../prometheus.js';
import type { ConnectorStatus } from './types.js';

const NAMES = [
  'tributary_connector_state',
  'tributary_connector_lag',
  'tributary_connector_records',
  'tributary_connector_alarm',
] as const;

/** Registers the gauges on `registry` (replacing those of an earlier manager on the same registry). */
export function registerConnectorMetrics(
  registry: Registry,
  statuses: () => readonly ConnectorStatus[],
): void {
  for (const name of NAMES) registry.removeSingleMetric(name);
  new Gauge({
    name: 'tributary_connector_state',
    help: 'Connector state: 1 for the current state of each connector',
    labelNames: ['connector', 'type', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of statuses()) this.set({ connector: s.name, type: s.type, state: s.state }, 1);
    },
  });
  new Gauge({
    name: 'tributary_connector_lag',
    help: 'How far behind its input each connector is: bytes of WAL not acknowledged (sources), records not applied (sinks)',
    labelNames: ['connector', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of statuses()) if (s.lag !== null) this.set({ connector: s.name, type: s.type }, s.lag);
    },
  });
  new Gauge({
    name: 'tributary_connector_records',
    help: 'Records each connector moved since the process started',
    labelNames: ['connector', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of statuses()) this.set({ connector: s.name, type: s.type }, s.records);
    },
  });
  new Gauge({
    name: 'tributary_connector_alarm',
    help: "1 while a connector's alarm is raised (a source's slot lag over its lagAlarmBytes), else 0",
    labelNames: ['connector', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of statuses())
        this.set({ connector: s.name, type: s.type }, s.alarm === undefined ? 0 : 1);
    },
  });
}
