// Everything the dashboard's queries and thresholds agree on, in one place.

/** Grafana 10.0 provisions schemaVersion 38 as is; later versions migrate it forward on load. */
export const SCHEMA_VERSION = 38;

/** The datasource provisioned by grafana/provisioning/datasources/prometheus.yml. */
export const DATASOURCE_UID = "deltafleet-prometheus";

/** The scrape job in prometheus/prometheus.yml. */
export const JOB = "deltafleet";

/** Every panel's series are narrowed by the dashboard's node and instance variables. */
export const SEL = `job="${JOB}", node=~"$node", instance=~"$instance"`;

export const THRESHOLDS = {
  // More than one digest means some node holds different weights than the rest.
  distinctDigests: { warnAt: 2 },
  // More than one set of fleet-log entries: some node has not caught up (yet).
  distinctLogSets: { warnAt: 2 },
  // Any entry behind is worth colour; the FleetNodeBehind alert waits 2 minutes before it speaks.
  behindEntries: { warnAt: 1 },
  // Same limit as the FleetRetransmitRatioHigh alert (prometheus/rules/alerts.yml).
  retransmitRatio: { warnAt: 0.25, badAt: 0.5 },
  // A Pi 4 has RAM to spare, but the node's target is 150 MB resident.
  residentBytes: { warnAt: 150e6, badAt: 300e6 },
  // Event loop lag over 100 ms makes the prompt and the HTTP API feel stuck.
  eventLoopLagSeconds: { warnAt: 0.05, badAt: 0.1 },
  // A delta reaches a LAN in well under a second; seconds mean loss and repair.
  deliverySeconds: { warnAt: 2, badAt: 10 },
};
