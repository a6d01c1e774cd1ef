// One family, one case: the case's episodes (the other problems joined to it) as bands on
// the telemetry chart, a recurrence counter, and a toast when a problem joins a case I own.
// Kept apart from chart.js: it reads the chart's time axis the way drawTelemetry lays it out
// (a chart that draws `episodes` itself makes drawEpisodes unnecessary).
"use strict";
function drawEpisodes(svg, points, episodes, incidentEnd, now) {
  const NS = "http://www.w3.org/2000/svg";
  const ts = (points && points.ts) || [];
  for (const old of svg.querySelectorAll("[data-role=episode]")) old.remove();
  if (!ts.length || !episodes || !episodes.length) return 0;
  const W = 760, L = 56, R = 10, T = 8, H = Number((svg.getAttribute("viewBox") || "0 0 0 0").split(" ")[3]) || 0;
  const t0 = ts[0];
  const until = incidentEnd || now || 0;
  const t1 = Math.max(ts[ts.length - 1], t0 + 1000, until && until - t0 < 15 * 60000 ? until : 0);
  const x = (t) => L + (W - L - R) * (Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0);
  let drawn = 0;
  episodes.forEach((ep, i) => {
    const end = ep.end || now || t1;
    if (end < t0 || ep.start > t1) return;
    const band = document.createElementNS(NS, "rect");
    const attrs = { x: x(ep.start), y: T, width: Math.max(2, x(end) - x(ep.start)),
      height: Math.max(0, H - 18 - T), fill: "#546e7a", "fill-opacity": 0.12,
      stroke: "#546e7a", "stroke-dasharray": "4 3",
      "data-role": "episode", "data-episode": String(i + 1), "data-kind": ep.kind };
    for (const [k, v] of Object.entries(attrs)) band.setAttribute(k, v);
    svg.appendChild(band);
    drawn += 1;
  });
  return drawn;
}

function showRecurrences(target, recurrences) {
  target.textContent = recurrences ? "recurring: " + (recurrences + 1) + " problems on this case" : "";
  target.dataset.recurrences = String(recurrences || 0);
}

const FCEpisodes = { seen: {} };
// A toast for the owner when a new problem joins the case: true when one was shown.
function toastJoined(caseView, me, toastEl) {
  const c = caseView.case, n = caseView.recurrences || 0;
  const before = FCEpisodes.seen[c.case_id];
  FCEpisodes.seen[c.case_id] = n;
  if (before === undefined || n <= before || c.owner !== me) return false;
  toastEl.textContent = "The family's problem is back: " + (n + 1) + " problems on " + c.case_id;
  toastEl.classList.remove("hidden");
  setTimeout(() => toastEl.classList.add("hidden"), 8000);
  return true;
}
