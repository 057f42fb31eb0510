// A Prometheus configuration folder for a fleet: the shipped prometheus.yml and rules, plus the
// file-SD targets written from the inventory. Prometheus itself runs from Debian's package.

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSdJson, type ScrapeTarget } from "./targets.js";
import { writeFileAtomic } from "../../../node/src/util/atomic-write.js";

export interface PrometheusSetup {
  /** Folder that will hold prometheus.yml, rules/, targets/, data/. */
  dir: string;
  /** The repository's prometheus/ folder (config and rules as shipped). */
  sourceDir: string;
  targets: ScrapeTarget[];
  /** Overrides the shipped 15 s, e.g. "1s" in tests. */
  scrapeInterval?: string;
}

export function writePrometheusSetup(s: PrometheusSetup): string {
  mkdirSync(join(s.dir, "rules"), { recursive: true });
  mkdirSync(join(s.dir, "targets"), { recursive: true });
  let config = readFileSync(join(s.sourceDir, "prometheus.yml"), "utf8");
  if (s.scrapeInterval) {
    config = config
      .replace(/scrape_interval: \S+/, `scrape_interval: ${s.scrapeInterval}`)
      .replace(/evaluation_interval: \S+/, `evaluation_interval: ${s.scrapeInterval}`)
      .replace(/refresh_interval: \S+/, `refresh_interval: ${s.scrapeInterval}`);
  }
  writeFileSync(join(s.dir, "prometheus.yml"), config);
  for (const f of ["recording.yml", "alerts.yml"]) copyFileSync(join(s.sourceDir, "rules", f), join(s.dir, "rules", f));
  // Prometheus re-reads this file while running: replace it whole so it never sees half of it.
  writeFileAtomic(join(s.dir, "targets", "nodes.json"), fileSdJson(s.targets));
  return join(s.dir, "prometheus.yml");
}
