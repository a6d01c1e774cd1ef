// Reports: incidents, lesson minutes lost, contacts, outcomes, top causes; CSV export.
"use strict";
(() => {
  const { api, el } = FC;
  const $ = (id) => document.getElementById(id);
  const query = () => "since=" + encodeURIComponent($("since").value) + "&by=" + encodeURIComponent($("by").value);

  async function show() {
    const r = await api("/api/reports?" + query());
    const t = $("report");
    if (!r.ok) { $("report-msg").textContent = r.data.detail || r.data.error; t.replaceChildren(); return; }
    t.replaceChildren(el("tr", {}, ...[r.data.by, "incidents", "lesson minutes lost", "contacts", "outcomes", "top causes"].map((h) => el("th", {}, h))));
    if (!r.data.rows.length) t.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No incidents in this period.")));
    const total = (k) => r.data.rows.reduce((a, g) => a + g[k], 0);
    $("report-msg").textContent = r.data.rows.length ? "total: " + total("incidents") + " incidents, " +
      total("lesson_minutes_lost").toFixed(1) + " lesson minutes lost, " + total("contacts") + " contacts" : "";
    for (const g of r.data.rows) {
      t.append(el("tr", { "data-key": g.key }, el("td", {}, g.key), el("td", {}, g.incidents), el("td", {}, g.lesson_minutes_lost.toFixed(1)),
        el("td", {}, g.contacts), el("td", {}, Object.entries(g.outcomes).map(([k, v]) => k + " " + v).join(", ")),
        el("td", {}, g.top_causes.map((c) => c.cause + " (" + c.count + ")").join(", "))));
    }
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
