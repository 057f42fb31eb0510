// Small helpers for the sections: text only (a lesson's text is never parsed as HTML), numbers with
// their units, and table bodies rebuilt in one assignment so a poll never shows a half-drawn table.

export const $ = (id) => document.getElementById(id);

export function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

/** A table cell; `cls` marks a state whose word is already in `text` (colour only repeats it). */
export function td(text, cls) {
  const c = document.createElement("td");
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

export function fillRows(id, rows, emptyText, columns) {
  const body = $(id);
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const c = td(emptyText, "empty");
    c.colSpan = columns;
    tr.append(c);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

export function fillFacts(id, facts) {
  $(id).replaceChildren(...facts.map(([k, v]) => {
    const d = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = String(v);
    d.append(dt, dd);
    return d;
  }));
}

/** "4 s ago" from a timestamp, aged by the node's clock (`now` from /status), not the browser's. */
export function ago(at, now) {
  if (at === null || at === undefined) return "—";
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

export function ms(n) {
  if (n === null || n === undefined) return "—";
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** Marks a section as showing data (the browser test checks every section gets there). */
export function shown(sectionId) {
  $(sectionId).dataset.state = "shown";
}

/** "1 entry", "2 entries": counts read as sentences. */
export function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
