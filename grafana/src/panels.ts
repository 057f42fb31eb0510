// Builders for the few panel kinds the dashboard uses. Layout (gridPos) and ids are assigned by
// `layout()`, so a dashboard definition lists panels in reading order and nothing else.

import { DATASOURCE_UID } from "./config.js";

export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

export interface Query {
  expr: string;
  legend?: string;
  /** Instant queries for tables and stats that show "now". */
  instant?: boolean;
}

export interface Threshold {
  warnAt?: number;
  badAt?: number;
}

export interface PanelSpec {
  kind: "timeseries" | "stat" | "table" | "state-timeline" | "bars";
  title: string;
  unit: string;
  queries: Query[];
  description?: string;
  width?: number; // of 24 columns
  height?: number;
  thresholds?: Threshold;
  min?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

type Json = Record<string, unknown>;

function thresholdSteps(t: Threshold | undefined): Json {
  const steps: Json[] = [{ color: "green", value: null }];
  if (t?.warnAt !== undefined) steps.push({ color: "orange", value: t.warnAt });
  if (t?.badAt !== undefined) steps.push({ color: "red", value: t.badAt });
  return { mode: "absolute", steps };
}

function targets(queries: Query[]): Json[] {
  return queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend ?? "__auto",
    instant: q.instant ?? false,
    range: !(q.instant ?? false),
    ...(q.instant ? { format: "table" } : {}),
  }));
}

function panelJson(p: PanelSpec): Json {
  const type = p.kind === "bars" ? "timeseries" : p.kind;
  const custom: Json =
    p.kind === "bars"
      ? { drawStyle: "bars", fillOpacity: 80, lineWidth: 1, stacking: { mode: "normal", group: "A" } }
      : p.kind === "timeseries"
        ? { drawStyle: "line", lineWidth: 1, fillOpacity: 10, showPoints: "never", spanNulls: true }
        : {};
  const options: Json =
    p.kind === "stat"
      ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "background", graphMode: "none", textMode: "auto" }
      : p.kind === "table"
        ? { showHeader: true, cellHeight: "sm" }
        : p.kind === "state-timeline"
          ? { showValue: "never", mergeValues: true, rowHeight: 0.8, legend: { displayMode: "list", placement: "bottom", showLegend: true } }
          : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } };
  return {
    type,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource: DATASOURCE,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        ...(p.min !== undefined ? { min: p.min } : {}),
        custom,
        thresholds: thresholdSteps(p.thresholds),
        color: { mode: p.thresholds ? "thresholds" : "palette-classic" },
      },
      overrides: [],
    },
    options,
    targets: targets(p.queries),
    ...(p.kind === "table" ? { transformations: [{ id: "merge", options: {} }, { id: "organize", options: { excludeByName: { Time: true } } }] } : {}),
  };
}

/** Places rows and panels on Grafana's 24-column grid, left to right, wrapping; ids from 1. */
export function layout(rows: RowSpec[]): Json[] {
  const out: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    out.push({ type: "row", title: row.title, id: id++, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.width ?? 12;
      const h = p.height ?? 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      out.push({ id: id++, gridPos: { h, w, x, y }, ...panelJson(p) });
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return out;
}

export function datasourceVariable(): Json {
  return {
    name: "datasource",
    label: "Data source",
    type: "datasource",
    query: "prometheus",
    current: { text: "Prometheus", value: DATASOURCE_UID },
    hide: 0,
    refresh: 1,
    options: [],
  };
}

/** A multi-select variable over one label, "All" meaning the regex `.*`. */
export function labelVariable(name: string, label: string, source: string): Json {
  const query = `label_values(${source}, ${name})`;
  return {
    name,
    label,
    type: "query",
    datasource: DATASOURCE,
    query: { query, refId: `${name}-values` },
    definition: query,
    includeAll: true,
    allValue: ".*",
    multi: true,
    current: { text: "All", value: "$__all" },
    refresh: 2,
    sort: 1,
    hide: 0,
    options: [],
  };
}
