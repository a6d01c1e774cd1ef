// The dashboard's last hour: one small inline-SVG line chart per figure (no library, no build).
"use strict";
function drawTrend(svg, ts, values, label, format) {
  const NS = "http://www.w3.org/2000/svg";
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 300, H = 90, L = 34, R = 6, T = 16, B = 16;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", "100%");
  const add = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e); return e;
  };
  const known = values.filter((v) => v !== null && v !== undefined);
  const peak = known.length ? Math.max(...known) : null;
  const last = values.length ? values[values.length - 1] : null;
  svg.dataset.peak = peak === null ? "" : String(peak);
  svg.dataset.last = last === null || last === undefined ? "" : String(last);
  svg.dataset.points = String(known.length);
  add("text", { x: 2, y: 11 }, label + ": now " + (last === null || last === undefined ? "–" : format(last)) +
      " · peak " + (peak === null ? "–" : format(peak)));
  add("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#dde1e7" });
  if (!ts.length) { add("text", { x: L + 6, y: T + 30 }, "no figures yet"); return; }
  const now = ts[ts.length - 1], t0 = Math.min(ts[0], now - 3600000 + 1);
  const max = Math.max(peak || 0, 1);
  const x = (t) => L + (W - L - R) * (t - t0) / Math.max(1, now - t0);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  add("text", { x: 2, y: T + 8 }, format(max));
  add("text", { x: 2, y: H - B }, "0");
  add("text", { x: L, y: H - 3 }, "-" + Math.round((now - t0) / 60000) + " min");
  add("text", { x: W - R - 22, y: H - 3 }, "now");
  let d = "", pen = false;
  ts.forEach((t, i) => {
    const v = values[i];
    if (v === null || v === undefined) { pen = false; return; }
    d += (pen ? "L" : "M") + x(t).toFixed(1) + " " + y(v).toFixed(1) + " ";
    pen = true;
  });
  add("path", { d: d.trim(), fill: "none", stroke: "#1f5fbf", "stroke-width": 1.6 });
  ts.forEach((t, i) => {
    const v = values[i];
    if (v === null || v === undefined) return;
    const dot = add("circle", { cx: x(t), cy: y(v), r: 2, fill: "#1f5fbf" });
    const tip = document.createElementNS(NS, "title");
    tip.textContent = new Date(t).toISOString().slice(11, 19) + ": " + format(v);
    dot.appendChild(tip);
  });
}
