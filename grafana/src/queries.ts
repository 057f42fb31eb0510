// Every query a dashboard runs, with Grafana's variables replaced the way Grafana replaces them,
// so a test can hand them to a real Prometheus.

export interface PanelQuery {
  panelId: number;
  title: string;
  refId: string;
  expr: string;
  instant: boolean;
}

export interface VariableValues {
  /** `.*` for "All", as the variables' allValue says. */
  node: string;
  instance: string;
  /** What Grafana would compute from the scrape interval; at least four scrapes. */
  rateInterval: string;
}

export function substitute(expr: string, v: VariableValues): string {
  return expr
    .replaceAll("$__rate_interval", v.rateInterval)
    .replaceAll("$__interval", v.rateInterval)
    .replaceAll("$node", v.node)
    .replaceAll("$instance", v.instance);
}

export function panelQueries(dashboard: { panels?: unknown[] }, v: VariableValues): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const panel of (dashboard.panels ?? []) as Array<Record<string, any>>) {
    for (const t of (panel.targets ?? []) as Array<Record<string, any>>) {
      out.push({ panelId: panel.id, title: panel.title, refId: t.refId, expr: substitute(t.expr, v), instant: !!t.instant });
    }
  }
  return out;
}
