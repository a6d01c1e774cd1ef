// Telemetry chart in inline SVG: RTT, loss, fps and freezes stacked on one time axis,
// reconnects and disconnects as vertical marks, the incident's start shaded.
"use strict";
function drawTelemetry(svg, points, marks, incidentStart, incidentEnd, now) {
  const NS = "http://www.w3.org/2000/svg";
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 760, PH = 70, GAP = 16, L = 56, R = 10, T = 8;
  const panels = [
    { key: "rtt_ms", label: "RTT ms", color: "#1f5fbf", limit: 500 },
    { key: "loss_pct", label: "loss %", color: "#c62828", limit: 10 },
    { key: "fps", label: "fps", color: "#2e7d32", limit: 7, below: true },
    { key: "freeze_ms", label: "freeze ms", color: "#e08a00", bars: true, limit: 600 },
  ];
  const H = T + panels.length * (PH + GAP) + 18;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", "100%");
  const ts = (points && points.ts) || [];
  const add = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e); return e;
  };
  if (!ts.length) { add("text", { x: 20, y: 30 }, "no telemetry for this session yet"); return; }
  const t0 = ts[0];
  // Run the axis on to the end of the problem (or now), so a drop-out shows as the gap it is.
  const until = incidentEnd || now || 0;
  const t1 = Math.max(ts[ts.length - 1], t0 + 1000, until && until - t0 < 15 * 60000 ? until : 0);
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  if (incidentStart && incidentStart >= t0) {
    const stop = incidentEnd && incidentEnd <= t1 ? incidentEnd : t1;
    add("rect", { x: x(incidentStart), y: T, width: Math.max(1, x(stop) - x(incidentStart)),
                  height: panels.length * (PH + GAP) - GAP, fill: "#fff3e0", "data-role": "incident" });
  }
  panels.forEach((p, i) => {
    const top = T + i * (PH + GAP);
    const vals = points[p.key] || [];
    const max = Math.max(p.limit * 1.3, ...vals, 1);
    const y = (v) => top + PH - PH * v / max;
    add("rect", { x: L, y: top, width: W - L - R, height: PH, fill: "none", stroke: "#dde1e7" });
    add("text", { x: 4, y: top + 12 }, p.label);
    add("text", { x: 4, y: top + PH }, "0");
    add("text", { x: 4, y: top + 26 }, String(Math.round(max)));
    add("line", { x1: L, x2: W - R, y1: y(p.limit), y2: y(p.limit), stroke: p.color,
                  "stroke-dasharray": "3 3", "stroke-opacity": 0.5 });
    if (p.bars) {
      const bw = Math.max(1, (W - L - R) / ts.length - 1);
      vals.forEach((v, j) => { if (v > 0) add("rect", { x: x(ts[j]) - bw, y: y(v), width: bw,
        height: top + PH - y(v), fill: p.color }); });
    } else {
      const d = vals.map((v, j) => (j ? "L" : "M") + x(ts[j]).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
      add("path", { d, fill: "none", stroke: p.color, "stroke-width": 1.6, "data-series": p.key });
    }
  });
  const colors = { disconnect: "#c62828", reconnect: "#8e24aa", reconnect_ok: "#2e7d32", join: "#6b7380", leave: "#6b7380" };
  for (const m of marks || []) {
    if (m.ts < t0 || m.ts > t1) continue;
    add("line", { x1: x(m.ts), x2: x(m.ts), y1: T, y2: H - 18, stroke: colors[m.type] || "#888",
                  "stroke-width": 1.5, "data-mark": m.type });
    add("text", { x: x(m.ts) + 2, y: H - 20 }, m.type);
  }
  add("text", { x: L, y: H - 4 }, new Date(t0).toISOString().slice(11, 19));
  add("text", { x: W - R - 50, y: H - 4 }, new Date(t1).toISOString().slice(11, 19));
}
