// Ops dashboard: live incidents, line incidents, heat map of lines, queue, time to contact.
"use strict";
(() => {
  const { api, live, dur, el } = FC;
  const $ = (id) => document.getElementById(id);

  function table(id, head, rows, empty) {
    const t = $(id);
    t.replaceChildren(el("tr", {}, ...head.map((h) => el("th", {}, h))));
    if (!rows.length) t.append(el("tr", {}, el("td", { colspan: head.length, class: "empty" }, empty)));
    for (const r of rows) t.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  }

  // One outage is one row: the lines that fail only because of it are listed under it.
  function lines(rows) {
    table("lines", ["line", "sessions", "for"], rows.map((l) => [l.line + (l.over ? " (back; related lines still failing)" : ""),
      l.sessions, dur(l.age_ms)]), "No line incident.");
    const trs = $("lines").querySelectorAll("tr");
    rows.forEach((l, i) => {
      const tr = trs[i + 1];
      tr.dataset.line = l.line; tr.dataset.related = String(l.related_lines.length);
      if (!l.related_lines.length) return;
      const n = l.related_lines.length;
      tr.children[0].append(el("div", { class: "related-lines" }, n + (n === 1 ? " related line: " : " related lines: ") +
        l.related_lines.map((r) => r.line + " (" + r.sessions + ")").join(", ")));
    });
  }

  function heat(cells) {
    const NS = "http://www.w3.org/2000/svg", svg = $("heat");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const edges = [...new Set(cells.map((c) => c.edge))].sort();
    const cols = [...new Set(cells.map((c) => c.isp + "/" + c.region))].sort();
    const CW = 92, CH = 30, L = 90, T = 44;
    const W = L + CW * Math.max(cols.length, 1) + 10, H = T + CH * Math.max(edges.length, 1) + 10;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    const add = (n, a, text) => { const e = document.createElementNS(NS, n); for (const [k, v] of Object.entries(a)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text; svg.appendChild(e); return e; };
    if (!cells.length) { add("text", { x: 10, y: 20 }, "no sessions in class"); return; }
    cols.forEach((c, i) => add("text", { x: L + i * CW + 4, y: T - 8, transform: `rotate(-12 ${L + i * CW + 4} ${T - 8})` }, c));
    edges.forEach((e, j) => add("text", { x: 4, y: T + j * CH + 19 }, e));
    for (const c of cells) {
      const i = cols.indexOf(c.isp + "/" + c.region), j = edges.indexOf(c.edge);
      const s = Math.min(1, c.share);
      const color = c.in_trouble === 0 ? "#e7f4e8" : `rgb(${230}, ${Math.round(200 - 170 * s)}, ${Math.round(120 - 100 * s)})`;
      const g = add("rect", { x: L + i * CW, y: T + j * CH, width: CW - 2, height: CH - 2, fill: color,
        "data-line": c.edge + "|" + c.isp + "|" + c.region, "data-share": c.share, "data-trouble": c.in_trouble });
      add("title", {}, `${c.edge} ${c.isp}/${c.region}: ${c.in_trouble} of ${c.sessions} sessions in trouble`);
      g.appendChild(svg.lastChild);
      add("text", { x: L + i * CW + 6, y: T + j * CH + 19 }, Math.round(100 * c.share) + "% (" + c.in_trouble + "/" + c.sessions + ")");
    }
  }

  const TRENDS = [["incidents", "live + line incidents", String], ["sessions_in_trouble", "sessions in trouble", String],
    ["queue_depth", "queue depth", String], ["first_contact_ms", "slowest first contact", dur]];

  // Every figure below comes from the one answer (one snapshot on the server), so they agree.
  function render(d) {
    const k = d.tiles;
    $("k-live").textContent = k.live_incidents;
    $("k-lines").textContent = k.line_incidents;
    $("k-trouble").textContent = k.sessions_in_trouble; $("k-in-class").textContent = k.sessions_in_class;
    $("k-depth").textContent = d.queue.depth; $("k-held").textContent = d.queue.held;
    $("k-wait").textContent = dur(d.queue.oldest_wait_ms); $("k-breached").textContent = d.queue.breached;
    $("k-p50").textContent = dur(d.first_contact_ms.p50); $("k-p95").textContent = dur(d.first_contact_ms.p95);
    heat(d.heat_map);
    lines(d.line_incidents);
    table("suppressed", ["reason", "calls"], Object.entries(d.suppressed).map(([k, v]) => [k.replaceAll("_", " "), v]), "Nothing suppressed yet.");
    table("escalated", ["reason", "problems"], Object.entries(d.escalated || {}).map(([k, v]) => [k.replaceAll("_", " "), v]), "No family case escalated yet.");
    const quiet = k.sessions_in_trouble === 0 ? "All classes are fine." :
      "No student has a problem of their own; " + k.sessions_in_trouble + " sessions are under line incidents.";
    table("live-incidents", ["kind", "student", "classroom", "line", "for"],
      d.live_incidents.map((i) => [i.kind, i.student_id, i.classroom_id, i.line, dur(i.age_ms)]), quiet);
    for (const [key, label, fmt] of TRENDS) drawTrend($("trend-" + key), d.trends.ts, d.trends[key], label, fmt);
    document.body.dataset.snapshot = String(d.now);
  }

  async function refresh() {
    const r = await api("/api/dashboard");
    if (r.ok) render(r.data);
  }
  FC.setupLogin(() => { refresh(); live(() => refresh()); setInterval(refresh, 3000); });
})();
