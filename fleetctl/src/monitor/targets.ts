// File-based service discovery: the list of nodes Prometheus scrapes, as Prometheus reads it.

export interface ScrapeTarget {
  /** host:port of the node's HTTP API (where /metrics is). */
  address: string;
  /** The node id; becomes the `node` label of every series scraped from it. */
  node: string;
}

/** The JSON of a file_sd_configs file: one group per node so each carries its own label. */
export function fileSdJson(targets: ScrapeTarget[]): string {
  const groups = targets.map((t) => ({ targets: [t.address], labels: { node: t.node } }));
  return JSON.stringify(groups, null, 2) + "\n";
}
