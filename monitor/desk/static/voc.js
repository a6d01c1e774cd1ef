// Voice of the customer: the digest per team (top problems, tables, SVG charts), from /api/reports/voc.
"use strict";
(() => {
  const { api } = FC;
  const $ = (id) => document.getElementById(id);

  async function show() {
    let q = "since=" + encodeURIComponent($("since").value || "7d");
    if ($("until").value) q += "&until=" + encodeURIComponent($("until").value);
    const r = await api("/api/reports/voc?" + q);
    if (!r.ok) { $("voc-msg").textContent = r.data.detail || r.data.error; $("voc").replaceChildren(); return; }
    $("voc-msg").textContent = "";
    // The server escapes every text in the digest; parse it inertly (no scripts run) and move it in.
    const doc = new DOMParser().parseFromString(r.data.html, "text/html");
    $("voc").replaceChildren(...doc.body.childNodes);
  }

  FC.setupLogin(() => {
    $("voc-form").addEventListener("submit", (e) => { e.preventDefault(); show(); });
    show();
  });
})();
