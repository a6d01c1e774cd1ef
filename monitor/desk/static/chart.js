// Telemetry chart in inline SVG: RTT, loss, fps and freezes stacked on one time axis,
// reconnects and disconnects as vertical marks, the problem window (and every episode joined
// to the case) shaded and always in view, values on hover, a legend for the lines and marks.
"use strict";
const CHART_PANELS = [
  { key: "rtt_ms", label: "RTT ms", unit: " ms", color: "#1f5fbf", limit: 500 },
  { key: "loss_pct", label: "loss %", unit: " %", color: "#c62828", limit: 10 },
  { key: "fps", label: "fps", unit: "", color: "#2e7d32", limit: 7, below: true },
  { key: "freeze_ms", label: "freeze ms", unit: " ms", color: "#e08a00", bars: true, limit: 600 },
];
const CHART_MARK_COLORS = { disconnect: "#c62828", reconnect: "#8e24aa", reconnect_ok: "#2e7d32",
  join: "#6b7380", leave: "#6b7380" };
const CHART_LEAD_MS = 60000;  // shown before the problem began

// The time axis: the problem window and its episodes always in view, with a lead-in.
function chartSpan(ts, windows, now) {
  const starts = windows.map((w) => w.start).filter(Boolean);
  const ends = windows.map((w) => w.end || now || 0);
  const from = Math.min(...(ts.length ? [ts[0]] : []), ...starts.map((s) => s - CHART_LEAD_MS));
  const to = Math.max(...(ts.length ? [ts[ts.length - 1]] : []), ...ends, from + 1000);
  return [from, to];
}

// Labels of the marks in up to three rows; a label that would overlap in every row is left
// out (its line keeps a tooltip).
function chartPlaceLabels(items, width) {
  const rows = [[], [], []];
  return items.map((it) => {
    const w = it.text.length * 6 + 4;
    const row = rows.findIndex((r) => r.every(([a, b]) => it.x + w < a || it.x > b));
    if (row < 0 || it.x + w > width) return null;
    rows[row].push([it.x, it.x + w]);
    return row;
  });
}

function chartLegend(svg, hasMarks) {
  let box = svg.nextElementSibling;
  if (!box || !box.classList.contains("chart-legend")) {
    box = document.createElement("div"); box.className = "chart-legend"; svg.after(box);
  }
  box.replaceChildren();
  const item = (key, swatch, text) => {
    const s = document.createElement("span"); s.dataset.legend = key;
    const i = document.createElement("i"); i.style.cssText = swatch; s.append(i, text); box.append(s);
  };
  item("window", "background:#fff3e0;border:1px solid #f0c890", "problem window");
  item("episode", "background:#fde7e7;border:1px solid #e8b0b0", "joined episode");
  for (const p of CHART_PANELS) item("limit-" + p.key, "border-top:2px dashed " + p.color,
    p.label + (p.below ? " floor " : " threshold ") + p.limit);
  if (hasMarks) for (const [k, c] of Object.entries(CHART_MARK_COLORS)) item("mark-" + k, "border-left:2px solid " + c, k.replace("_", " "));
}

function drawTelemetry(svg, points, marks, incidentStart, incidentEnd, now, episodes) {
  const NS = "http://www.w3.org/2000/svg";
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  // As wide as its card (up to 760 units), so text stays readable on a phone.
  const fit = (svg.parentElement && svg.parentElement.clientWidth) || 760;
  const W = Math.round(Math.max(300, Math.min(760, fit - 24))), PH = 70, GAP = 16, L = 56, R = 10, T = 8, LABELS = 3 * 14;
  const PLOT = CHART_PANELS.length * (PH + GAP) - GAP;
  const H = T + PLOT + LABELS + 18;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", "100%");
  const add = (name, attrs, text, parent) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    (parent || svg).appendChild(e); return e;
  };
  const ts = (points && points.ts) || [];
  const windows = [{ start: incidentStart, end: incidentEnd, own: true },
    ...(episodes || []).map((e) => ({ start: e.start, end: e.end }))].filter((w) => w.start);
  chartLegend(svg, (marks || []).length > 0);
  if (!ts.length && !windows.length) { add("text", { x: 20, y: 30 }, "no telemetry for this session yet"); return; }
  const [t0, t1] = chartSpan(ts, windows, now);
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  for (const w of windows) {
    const stop = Math.min(w.end || now || t1, t1);
    add("rect", { x: x(w.start), y: T, width: Math.max(1, x(stop) - x(w.start)), height: PLOT,
                  fill: w.own ? "#fff3e0" : "#fde7e7", "fill-opacity": w.own ? 1 : 0.7,
                  "data-role": w.own ? "incident" : "episode" });
  }
  if (!ts.length || ts[0] > t0 + 5000) {
    const until = ts.length ? ts[0] : t1;
    add("text", { x: x(t0) + 4, y: T + PLOT / 2, "data-role": "gap" },
        "no telemetry kept before " + new Date(until).toISOString().slice(11, 19));
  }
  CHART_PANELS.forEach((p, i) => {
    const top = T + i * (PH + GAP);
    const vals = points[p.key] || [];
    const max = Math.max(p.limit * 1.3, ...vals, 1);
    const y = (v) => top + PH - PH * v / max;
    add("rect", { x: L, y: top, width: W - L - R, height: PH, fill: "none", stroke: "#dde1e7" });
    add("text", { x: 4, y: top + 12 }, p.label);
    add("text", { x: 4, y: top + PH }, "0");
    add("text", { x: 4, y: top + 26 }, String(Math.round(max)));
    add("line", { x1: L, x2: W - R, y1: y(p.limit), y2: y(p.limit), stroke: p.color,
                  "stroke-dasharray": "3 3", "stroke-opacity": 0.5, "data-limit": p.key });
    if (p.bars) {
      const step = ts.length > 1 ? (ts[ts.length - 1] - ts[0]) / (ts.length - 1) : 2000;
      const bw = Math.max(1, x(t0 + step) - x(t0) - 1);
      vals.forEach((v, j) => { if (v > 0) add("rect", { x: x(ts[j]) - bw, y: y(v), width: bw,
        height: top + PH - y(v), fill: p.color }); });
    } else if (ts.length) {
      const d = vals.map((v, j) => (j ? "L" : "M") + x(ts[j]).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
      add("path", { d, fill: "none", stroke: p.color, "stroke-width": 1.6, "data-series": p.key });
    }
  });
  const shown = (marks || []).filter((m) => m.ts >= t0 && m.ts <= t1);
  const rows = chartPlaceLabels(shown.map((m) => ({ x: x(m.ts) + 2, text: m.type })), W);
  shown.forEach((m, k) => {
    const line = add("line", { x1: x(m.ts), x2: x(m.ts), y1: T, y2: T + PLOT + 4, stroke: CHART_MARK_COLORS[m.type] || "#888",
                               "stroke-width": 1.5, "data-mark": m.type });
    add("title", {}, m.type + " " + new Date(m.ts).toISOString().slice(11, 19), line);
    if (rows[k] !== null) add("text", { x: x(m.ts) + 2, y: T + PLOT + 14 + 14 * rows[k], "data-mark-label": m.type }, m.type);
  });
  add("text", { x: L, y: H - 4 }, new Date(t0).toISOString().slice(11, 19));
  add("text", { x: W - R, y: H - 4, "text-anchor": "end" }, new Date(t1).toISOString().slice(11, 19));
  chartHover(svg, add, ts, points, x, t0, t1, { W, L, R, T, PLOT });
}

// Hover: a cursor line and the values of the nearest stats interval.
function chartHover(svg, add, ts, points, x, t0, t1, g) {
  if (!ts.length) return;
  const cursor = add("line", { y1: g.T, y2: g.T + g.PLOT, stroke: "#17202e", "stroke-width": 1, visibility: "hidden" });
  const tip = add("text", { x: g.L + 4, y: g.T + 10, "data-role": "hover", visibility: "hidden",
                            style: "font-weight:600;fill:#17202e" });
  const pad = add("rect", { x: g.L, y: g.T, width: g.W - g.L - g.R, height: g.PLOT, fill: "transparent" });
  pad.addEventListener("mousemove", (ev) => {
    const box = svg.getBoundingClientRect();
    const t = t0 + (t1 - t0) * ((ev.clientX - box.left) * g.W / box.width - g.L) / (g.W - g.L - g.R);
    let j = 0;
    for (let k = 1; k < ts.length; k++) if (Math.abs(ts[k] - t) < Math.abs(ts[j] - t)) j = k;
    const cx = x(ts[j]);
    cursor.setAttribute("x1", cx); cursor.setAttribute("x2", cx); cursor.setAttribute("visibility", "visible");
    tip.textContent = new Date(ts[j]).toISOString().slice(11, 19) + " · " + CHART_PANELS.map((p) =>
      p.label.split(" ")[0] + " " + (points[p.key] ? Math.round(points[p.key][j] * 10) / 10 : "–") + p.unit).join(" · ");
    tip.setAttribute("x", cx > g.W / 2 ? cx - 6 : cx + 6);
    tip.setAttribute("text-anchor", cx > g.W / 2 ? "end" : "start");
    tip.setAttribute("visibility", "visible");
  });
  pad.addEventListener("mouseleave", () => { cursor.setAttribute("visibility", "hidden"); tip.setAttribute("visibility", "hidden"); });
}
