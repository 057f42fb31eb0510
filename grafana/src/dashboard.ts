// The DeltaFleet dashboard: is the fleet healthy, and has every Pi learned what one Pi was taught?
// Metric names are those of node/src/node/metrics.ts (docs/contracts.md); recording rules are in
// prometheus/rules/recording.yml.

import { JOB, SCHEMA_VERSION, SEL, THRESHOLDS } from "./config.js";
import { datasourceVariable, labelVariable, layout, type RowSpec } from "./panels.js";

const RATE = "$__rate_interval";

export const ROWS: RowSpec[] = [
  {
    title: "Fleet overview",
    panels: [
      {
        kind: "stat",
        title: "Nodes up",
        unit: "none",
        width: 4,
        description: "Nodes Prometheus can scrape right now, of those it knows from the inventory.",
        queries: [
          { expr: `sum(up{${SEL}})`, legend: "up", instant: true },
          { expr: `count(up{${SEL}})`, legend: "known", instant: true },
        ],
      },
      {
        kind: "stat",
        title: "Distinct model digests",
        unit: "none",
        width: 4,
        thresholds: THRESHOLDS.distinctDigests,
        description:
          "How many different sets of weights the fleet holds. 1 means every node is bitwise identical: every taught delta reached and merged everywhere.",
        queries: [{ expr: "fleet:digests:distinct", legend: "digests", instant: true }],
      },
      {
        kind: "table",
        title: "Model per node",
        // The digest is the value of fleet_model_digest (a label would start a series per merge):
        // its first 12 hex digits, as fleetctl shows them (Grafana prints hex in capitals, without leading zeros).
        unit: "hex",
        width: 16,
        description: "The digest of each node's weights, its first 12 hex digits (equal digests, equal weights), and the fingerprint of the model it started from.",
        queries: [
          {
            expr: `max by (node, instance, fingerprint) (fleet_model_digest{${SEL}} * on (node, instance) group_left (fingerprint) fleet_model_info{${SEL}})`,
            instant: true,
          },
        ],
      },
      {
        kind: "state-timeline",
        title: "Nodes out of step with the fleet",
        unit: "bool_yes_no",
        width: 12,
        thresholds: { badAt: 1 },
        description:
          "Yes while a node's digest is held by fewer nodes than the most common one: it missed or rejected a delta. The bar shows since when.",
        queries: [{ expr: `fleet:node_digest_disagrees{node=~"$node", instance=~"$instance"}`, legend: "{{node}}" }],
      },
      {
        kind: "timeseries",
        title: "Peers seen per node",
        unit: "none",
        width: 6,
        min: 0,
        description: "Peers in each node's table (heard from within the prune interval). Every node should see all the others.",
        queries: [{ expr: `fleet_peers{${SEL}}`, legend: "{{node}}" }],
      },
      {
        kind: "stat",
        title: "Last merge age",
        unit: "s",
        width: 6,
        description: "Time since each node's weights last changed: a delta merged from a peer, or its own teach (fleet_last_merge_timestamp_seconds is set by both). Empty for a node that has done neither since it started.",
        queries: [
          {
            expr: `(time() - fleet_last_merge_timestamp_seconds{${SEL}}) and (fleet_last_merge_timestamp_seconds{${SEL}} > 0)`,
            legend: "{{node}}",
            instant: true,
          },
        ],
      },
    ],
  },
  {
    // The fleet log (node/src/log/): a node's weights are a function of the entries it holds, and
    // anti-entropy (node/src/node/catch-up.ts) fetches what a peer holds and it lacks.
    title: "Fleet log",
    panels: [
      {
        kind: "stat",
        title: "Distinct log sets",
        unit: "none",
        width: 4,
        thresholds: THRESHOLDS.distinctLogSets,
        description: "How many different sets of entries the nodes hold. 1 means every node holds every entry (and so the same weights); more means a node is still catching up.",
        queries: [{ expr: "fleet:log_sets:distinct", legend: "sets", instant: true }],
      },
      {
        kind: "timeseries",
        title: "Entries per node",
        unit: "none",
        width: 10,
        min: 0,
        description: "Entries of the fleet log each node holds on disk (an entry counts only once saved). Lines that part and meet again are a node falling behind and catching up.",
        queries: [{ expr: `fleet_log_entries{${SEL}}`, legend: "{{node}}" }],
      },
      {
        kind: "timeseries",
        title: "Entries behind and lacking",
        unit: "none",
        width: 10,
        min: 0,
        thresholds: THRESHOLDS.behindEntries,
        description:
          "behind: entries fewer than the node holding the most. lacking: entries a peer's index listed that the node does not hold yet. The FleetNodeBehind alert fires after 2 minutes of either while the node is up.",
        queries: [
          { expr: `fleet:node_log_behind_entries{node=~"$node", instance=~"$instance"}`, legend: "{{node}} behind" },
          { expr: `fleet_log_lacking{${SEL}}`, legend: "{{node}} lacking" },
        ],
      },
      {
        kind: "bars",
        title: "Catch-up fetches and failed saves",
        unit: "none",
        width: 8,
        description:
          "index: a peer's list of entry names asked for; entry: an entry fetched from a peer. unsaved: entries that could not be written to the state folder (full disk, no file descriptors): the weights stay unchanged and the entry is fetched again.",
        queries: [
          { expr: `sum by (node, kind) (increase(fleet_log_fetches_total{${SEL}}[${RATE}]))`, legend: "{{node}} {{kind}}" },
          { expr: `sum by (node) (increase(fleet_state_write_errors_total{${SEL}}[${RATE}]))`, legend: "{{node}} unsaved" },
        ],
      },
      {
        kind: "timeseries",
        title: "Catch-up bytes",
        unit: "Bps",
        width: 8,
        min: 0,
        description: "Delta bytes each node received by catch-up (not by a teach's broadcast).",
        queries: [{ expr: `sum by (node) (rate(fleet_log_fetch_bytes_total{${SEL}}[${RATE}]))`, legend: "{{node}}" }],
      },
      {
        kind: "timeseries",
        title: "Time to converge",
        unit: "s",
        width: 8,
        description: "From a node first knowing it lacks entries to holding them all, p50 and p95. Empty while no node had anything to catch up.",
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (node, le) (rate(fleet_log_converge_seconds_bucket{${SEL}}[${RATE}])))`,
            legend: "{{node}} p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (node, le) (rate(fleet_log_converge_seconds_bucket{${SEL}}[${RATE}])))`,
            legend: "{{node}} p95",
          },
        ],
      },
      {
        // Recall (node/src/node/recall.ts): answers from each node's weights, never from the log.
        kind: "timeseries",
        title: "Lessons recalled per node",
        unit: "none",
        width: 16,
        min: 0,
        description:
          "Of the newest lessons a node holds (at most 12 are asked), how many its weights answer exactly as taught (recalled), and how many it asked. A node asks itself after its weights change, off the merge path; a line below its asked line is a lesson the fleet taught and this node's model has forgotten.",
        queries: [
          { expr: `fleet_lessons_recalled{${SEL}}`, legend: "{{node}} recalled" },
          { expr: `fleet_lessons_asked{${SEL}}`, legend: "{{node}} asked" },
        ],
      },
      {
        kind: "stat",
        title: "Lessons held, fewest recalled",
        unit: "none",
        width: 8,
        description: "Lessons (taught question/answer pairs) in the fleet log, as the node holding the most counts them, and the fewest any node recalls.",
        queries: [
          { expr: `max(fleet_lessons_held{${SEL}})`, legend: "held", instant: true },
          { expr: `min(fleet_lessons_recalled{${SEL}})`, legend: "fewest recalled", instant: true },
        ],
      },
    ],
  },
  {
    title: "Transfers",
    panels: [
      {
        kind: "timeseries",
        title: "Fragments per second",
        unit: "pps",
        width: 8,
        queries: [
          { expr: `sum by (node) (rate(fleet_fragments_sent_total{${SEL}}[${RATE}]))`, legend: "{{node}} sent" },
          { expr: `sum by (node) (rate(fleet_fragments_received_total{${SEL}}[${RATE}]))`, legend: "{{node}} received" },
        ],
      },
      {
        kind: "timeseries",
        title: "Retransmits and NAKs per second",
        unit: "pps",
        width: 8,
        description: "Receivers NAK fragments they missed; senders resend them (once for all receivers that missed the same one).",
        queries: [
          { expr: `sum by (node) (rate(fleet_retransmits_total{${SEL}}[${RATE}]))`, legend: "{{node}} retransmits" },
          { expr: `sum by (node) (rate(fleet_naks_sent_total{${SEL}}[${RATE}]))`, legend: "{{node}} NAKs sent" },
          { expr: `sum by (node) (rate(fleet_naks_received_total{${SEL}}[${RATE}]))`, legend: "{{node}} NAKs received" },
        ],
      },
      {
        kind: "timeseries",
        title: "Retransmit ratio",
        unit: "percentunit",
        width: 8,
        min: 0,
        thresholds: THRESHOLDS.retransmitRatio,
        description: "Fragments resent per fragment sent: the price of packet loss. The fleet line is the one the alert watches.",
        queries: [
          {
            expr: `sum by (node) (rate(fleet_retransmits_total{${SEL}}[${RATE}])) / clamp_min(sum by (node) (rate(fleet_fragments_sent_total{${SEL}}[${RATE}])), 1e-9)`,
            legend: "{{node}}",
          },
          { expr: "fleet:retransmit_ratio:rate5m", legend: "fleet" },
        ],
      },
      {
        kind: "timeseries",
        title: "Delivery latency",
        unit: "s",
        width: 8,
        thresholds: THRESHOLDS.deliverySeconds,
        description: "From the first MODEL_META a node hears to the delta merged into its weights, p50 and p95.",
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (node, le) (rate(fleet_delivery_latency_seconds_bucket{${SEL}}[${RATE}])))`,
            legend: "{{node}} p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (node, le) (rate(fleet_delivery_latency_seconds_bucket{${SEL}}[${RATE}])))`,
            legend: "{{node}} p95",
          },
        ],
      },
      {
        kind: "timeseries",
        title: "Transfers in flight",
        unit: "none",
        width: 8,
        min: 0,
        description: "Deltas a node is receiving right now. One that never drains is a stuck transfer (the sender went away).",
        queries: [{ expr: `fleet_transfers_in_flight{${SEL}}`, legend: "{{node}}" }],
      },
      {
        kind: "bars",
        title: "Rejected deltas by reason",
        unit: "none",
        width: 8,
        description:
          "sha: the bytes did not match the announced hash; decode/shape: not a usable delta; duplicate: already applied; stale, bounds, gave_up: the transfer was dropped; untrusted: the trust gate refused the entry (Entries refused says why).",
        queries: [{ expr: `sum by (reason) (increase(fleet_deltas_rejected_total{${SEL}}[${RATE}]))`, legend: "{{reason}}" }],
      },
      {
        kind: "bars",
        title: "Dropped datagrams by reason",
        unit: "none",
        width: 12,
        height: 6,
        description: "Datagrams the overlay threw away before they reached a transfer: malformed, bad CRC, our own echo, unknown types; forged_src and nak_unknown_peer are strangers (the FleetUntrustedTrafficSpike alert watches them).",
        queries: [{ expr: `sum by (reason) (increase(fleet_datagrams_dropped_total{${SEL}}[${RATE}]))`, legend: "{{reason}}" }],
      },
      {
        kind: "bars",
        title: "Refused: HTTP clients, repairs, peers",
        unit: "none",
        width: 12,
        height: 6,
        description:
          "HTTP clients turned away (unauthorized: no or wrong API token; timeout: too slow; over_cap: too many connections), NAKed fragments not resent because the asker's repair budget was spent, packets from new node ids while the peer table was full, Sprint 6.2 PEER_SYNCs naming another host, and incoming transfers closed to free a slot (untrusted: the strangers' small pool).",
        queries: [
          { expr: `sum by (reason) (increase(fleet_http_refused_total{${SEL}}[${RATE}]))`, legend: "http {{reason}}" },
          { expr: `sum(increase(fleet_repairs_refused_total{${SEL}}[${RATE}]))`, legend: "repairs" },
          { expr: `sum(increase(fleet_peers_refused_total{${SEL}}[${RATE}]))`, legend: "peers" },
          { expr: `sum(increase(fleet_addresses_ignored_total{${SEL}}[${RATE}]))`, legend: "sprint 6.2 addresses" },
          { expr: `sum by (pool) (increase(fleet_transfers_evicted_total{${SEL}}[${RATE}]))`, legend: "transfers evicted ({{pool}})" },
        ],
      },
      {
        kind: "timeseries",
        title: "Entries refused",
        unit: "none",
        width: 12,
        height: 6,
        min: 0,
        description:
          "Entries (teaches, course deltas) a node's trust gate refused, per second by reason: unsigned (no signature; course deltas without --accept-unsigned), not_member (an author not on the roster), bad_signature (a member's name, another key), revoked, out_of_bounds (larger than one teach can make), ignored_author (after repeated refusals). Any of the member reasons raises FleetEntriesRefused.",
        queries: [{ expr: `sum by (reason) (rate(fleet_entries_refused_total{${SEL}}[${RATE}]))`, legend: "{{reason}}" }],
      },
    ],
  },
  {
    title: "Learning",
    panels: [
      {
        kind: "bars",
        title: "Teach and merge events",
        unit: "none",
        width: 12,
        queries: [
          { expr: `sum by (node) (increase(fleet_teaches_total{${SEL}}[${RATE}]))`, legend: "{{node}} taught" },
          { expr: `sum by (node) (increase(fleet_deltas_merged_total{${SEL}}[${RATE}]))`, legend: "{{node}} merged" },
        ],
      },
      {
        kind: "timeseries",
        title: "Training loss",
        unit: "none",
        width: 12,
        description: "Cross-entropy of the taught answer at the last step of each node's last teach.",
        queries: [{ expr: `fleet_train_loss{${SEL}}`, legend: "{{node}}" }],
      },
      {
        kind: "timeseries",
        title: "Training duration",
        unit: "s",
        width: 12,
        queries: [
          {
            expr: `sum by (node) (rate(fleet_train_duration_seconds_sum{${SEL}}[${RATE}])) / sum by (node) (rate(fleet_train_duration_seconds_count{${SEL}}[${RATE}]))`,
            legend: "{{node}} mean",
          },
        ],
      },
      {
        kind: "timeseries",
        title: "Merge duration",
        unit: "s",
        width: 12,
        queries: [
          {
            expr: `sum by (node) (rate(fleet_merge_duration_seconds_sum{${SEL}}[${RATE}])) / sum by (node) (rate(fleet_merge_duration_seconds_count{${SEL}}[${RATE}]))`,
            legend: "{{node}} mean",
          },
        ],
      },
    ],
  },
  {
    // Training jobs (node/src/node/train-job.ts): only the coordinator of a job exports these, so a
    // line belongs to the node that got POST /train (or fleetctl train).
    title: "Training",
    panels: [
      {
        kind: "timeseries",
        title: "Job loss per round",
        unit: "none",
        width: 8,
        description: "Mean answer-token loss over the job's data set after each round, on the coordinator (0 before its first job). It should fall round after round.",
        queries: [{ expr: `fleet_job_loss{${SEL}} and (fleet_job_round_seconds_count{${SEL}} > 0)`, legend: "{{node}}" }],
      },
      {
        kind: "bars",
        title: "Rounds: members averaged and left out",
        unit: "none",
        width: 8,
        description: "participants: members called for the current round. left out: members whose update did not arrive before the straggler timeout (slow, stopped or dead) — the round closed with the others' average.",
        queries: [
          { expr: `max by (node) (fleet_job_participants{${SEL}})`, legend: "{{node}} participants" },
          { expr: `sum by (node) (increase(fleet_job_stragglers_total{${SEL}}[${RATE}]))`, legend: "{{node}} left out" },
        ],
      },
      {
        kind: "timeseries",
        title: "Round duration",
        unit: "s",
        width: 8,
        min: 0,
        description: "From calling the members to the round's entry made and the loss measured: the slowest member's epoch, or the straggler timeout when one is left out.",
        queries: [
          {
            expr: `sum by (node) (rate(fleet_job_round_seconds_sum{${SEL}}[${RATE}])) / sum by (node) (rate(fleet_job_round_seconds_count{${SEL}}[${RATE}]))`,
            legend: "{{node}} mean",
          },
        ],
      },
    ],
  },
  {
    title: "Process",
    panels: [
      {
        kind: "timeseries",
        title: "Resident memory",
        unit: "bytes",
        width: 8,
        thresholds: THRESHOLDS.residentBytes,
        queries: [{ expr: `process_resident_memory_bytes{${SEL}}`, legend: "{{node}}" }],
      },
      {
        kind: "timeseries",
        title: "CPU",
        unit: "percentunit",
        width: 8,
        min: 0,
        description: "Share of one core. Teaching and merging show as short spikes.",
        queries: [{ expr: `rate(process_cpu_seconds_total{${SEL}}[${RATE}])`, legend: "{{node}}" }],
      },
      {
        kind: "timeseries",
        title: "Event loop lag (p99)",
        unit: "s",
        width: 8,
        thresholds: THRESHOLDS.eventLoopLagSeconds,
        description: "How late Node.js runs timers and I/O callbacks. High lag delays NAKs and HTTP answers.",
        queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${SEL}}`, legend: "{{node}}" }],
      },
    ],
  },
];

export function dashboard(): Record<string, unknown> {
  return {
    uid: "deltafleet-overview",
    title: "DeltaFleet",
    description: "Federated learning on a fleet of Raspberry Pis: health, transfers, learning, processes.",
    tags: ["deltafleet"],
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: true,
    graphTooltip: 1,
    refresh: "10s",
    time: { from: "now-1h", to: "now" },
    timepicker: {},
    timezone: "",
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        datasourceVariable(),
        labelVariable("node", "Node", `up{job="${JOB}"}`),
        labelVariable("instance", "Instance", `up{job="${JOB}", node=~"$node"}`),
      ],
    },
    panels: layout(ROWS),
  };
}
