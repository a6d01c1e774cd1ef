// Reports: rows by the chosen slice (sortable), charts over time (uPlot), support figures;
// by line, the infrastructure's line incidents apart from the families' own problems. CSV export.
"use strict";
(() => {
  const { api, el, dur } = FC;
  const $ = (id) => document.getElementById(id);
  const query = () => "since=" + encodeURIComponent($("since").value) + "&by=" + encodeURIComponent($("by").value);
  const COLORS = ["#1f5fbf", "#c62828", "#2e7d32", "#e08a00", "#8e24aa"];
  const COLUMNS = [
    { key: "key", label: null, value: (g) => g.key, text: (g) => related(g) ? [g.key, el("div", { class: "related-lines" }, related(g))] : g.key },
    { key: "incidents", label: "incidents", value: (g) => g.incidents, text: (g) => g.incidents },
    { key: "lesson_minutes_lost", label: "lesson minutes lost", value: (g) => g.lesson_minutes_lost, text: (g) => g.lesson_minutes_lost.toFixed(1) },
    { key: "contacts", label: "contacts", value: (g) => g.contacts, text: (g) => g.contacts },
    { key: "outcomes", label: "outcomes", value: (g) => Object.keys(g.outcomes).join(","), text: (g) => Object.entries(g.outcomes).map(([k, v]) => k + " " + v).join(", ") },
    { key: "top_causes", label: "top causes", value: (g) => (g.top_causes[0] || {}).cause || "", text: (g) => g.top_causes.map((c) => c.cause + " (" + c.count + ")").join(", ") },
  ];
  // A line incident's related lines (they failed only because of it) are listed under it.
  const related = (g) => {
    const r = Object.entries(g.related_lines || {});
    return r.length ? "related lines: " + r.map(([k, n]) => n > 1 ? k + " (" + n + ")" : k).join(", ") : "";
  };
  const charts = [];
  const sortState = {};  // table id -> {key, dir}

  function table(t, rows, by, emptyText) {
    const st = sortState[t.id] || (sortState[t.id] = { key: "lesson_minutes_lost", dir: -1 });
    const col = COLUMNS.find((c) => c.key === st.key) || COLUMNS[2];
    const sorted = rows.slice().sort((a, b) => {
      const x = col.value(a), y = col.value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * st.dir || String(a.key).localeCompare(String(b.key));
    });
    const head = el("tr", {}, ...COLUMNS.map((c) => {
      const th = el("th", { "data-col": c.key, tabindex: "0", role: "columnheader",
        "aria-sort": c.key === st.key ? (st.dir > 0 ? "ascending" : "descending") : "none" },
        (c.label || by) + (c.key === st.key ? (st.dir > 0 ? " ▲" : " ▼") : ""));
      const sort = () => { st.dir = st.key === c.key ? -st.dir : (c.key === "key" ? 1 : -1); st.key = c.key; table(t, rows, by, emptyText); };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
      return th;
    }));
    t.replaceChildren(head);
    if (!rows.length) t.append(el("tr", {}, el("td", { colspan: COLUMNS.length, class: "empty" }, emptyText)));
    for (const g of sorted) t.append(el("tr", { "data-key": g.key }, ...COLUMNS.map((c) => el("td", { "data-col": c.key }, ...[c.text(g)].flat()))));
  }

  function support(s) {
    const fmt = (ms) => ms === null || ms === undefined ? "–" : dur(ms);
    const tiles = [
      ["first-contact-p50", fmt(s.first_contact_p50_ms), "problem start → first contact, median (" + s.contacted + " families)"],
      ["first-contact-p95", fmt(s.first_contact_p95_ms), "problem start → first contact, p95"],
      ["queued", s.queued, "cases that needed a technician"],
      ["in-sla", s.queued ? Math.round(100 * s.answered_in_sla / s.queued) + " %" : "–", "answered within the " + dur(s.sla_ms) + " service level"],
      ["breached", s.breached, "past the service level"],
      ["waiting", s.waiting, "still waiting, within it"],
    ];
    $("support").replaceChildren(...tiles.map(([id, v, l]) => el("div", { class: "card kpi", "data-kpi": id }, el("div", { class: "v" }, v), el("div", { class: "l" }, l))));
  }

  function chart(target, series, field, unit) {
    const box = $(target);
    const width = Math.max(280, box.clientWidth || 600);
    const data = [series.t.map((t) => t / 1000), ...series.series.map((s) => s[field])];
    const opts = {
      width, height: 220, scales: { x: { time: true } },
      series: [{ label: "time" }, ...series.series.map((s, i) => ({
        label: s.key, stroke: COLORS[i % COLORS.length], width: 2,
        value: (u, v) => v === null || v === undefined ? "–" : (field === "incidents" ? v : v.toFixed(1)) + unit,
      }))],
      axes: [{}, { label: field === "incidents" ? "incidents" : "minutes", size: 56 }],
    };
    box.replaceChildren();
    if (!series.series.length) { box.append(el("p", { class: "empty" }, "Nothing to chart in this period.")); return; }
    charts.push(new uPlot(opts, data, box));
  }

  async function show() {
    const r = await api("/api/reports?" + query());
    if (!r.ok) { $("report-msg").textContent = r.data.detail || r.data.error; $("report").replaceChildren(); return; }
    const d = r.data;
    const total = (k) => d.rows.reduce((a, g) => a + g[k], 0);
    $("report-msg").textContent = d.rows.length ? "total: " + total("incidents") + " incidents, " +
      total("lesson_minutes_lost").toFixed(1) + " lesson minutes lost, " + total("contacts") + " contacts" : "";
    $("rows-title").textContent = d.by === "line" ? "Families' own problems by line" : "By " + d.by.replace("_", " ");
    table($("report"), d.rows, d.by, "No incidents in this period.");
    $("infra-card").classList.toggle("hidden", !d.infrastructure);
    if (d.infrastructure) table($("infra"), d.infrastructure, "line", "No line incidents in this period.");
    support(d.support);
    while (charts.length) charts.pop().destroy();
    chart("chart-minutes", d.series, "lesson_minutes_lost", " min");
    chart("chart-incidents", d.series, "incidents", "");
  }

  async function csv() {
    const res = await fetch("/api/reports.csv?" + query(), { headers: { "Authorization": "Bearer " + FC.token() } });
    if (!res.ok) { $("report-msg").textContent = "export failed: " + res.status; return; }
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: "firstcall-" + $("by").value + ".csv" });
    document.body.append(a); a.click(); a.remove(); URL.revokeObjectURL(url);
  }

  FC.setupLogin(() => {
    $("report-form").addEventListener("submit", (e) => { e.preventDefault(); show(); });
    $("csv").addEventListener("click", csv);
    show();
  });
})();
