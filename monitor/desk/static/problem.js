// A line incident as one problem: the console's banner, the queue badge, and the owner's panel
// (acknowledge by claiming; status, sessions, classrooms, a note to families, the families
// under it, and one action that closes them all with infra_incident).
"use strict";
const FCProblem = (() => {
  const { api, dur, clock, el } = FC;

  function banner(box, outages, select) {
    box.classList.toggle("hidden", !outages.length);
    box.replaceChildren(...outages.map((o) => el("div", { class: "outage", "data-case-id": o.case_id },
      el("strong", {}, "Line incident: " + o.line), " since " + clock(o.started_at) + " · " +
      o.sessions + (o.sessions === 1 ? " session" : " sessions") +
      ((o.related_lines || []).length ? " · " + related(o.related_lines.length) + " (" + o.related_lines.join(", ") + ")" : "") +
      " · the families are listed under it, not in the queue ",
      el("button", { onclick: () => select(o.case_id) }, "open"))));
  }

  const related = (n) => n + (n === 1 ? " related line" : " related lines");

  function badge(p) {
    return el("span", { class: "badge problem" }, (p.line ? p.line + " · " : "") +
      (p.sessions == null ? "" : p.sessions + " sessions · ") + p.families + " families under it");
  }

  async function show(card, c, me, done) {
    const isLine = c.kind === "line";
    card.classList.toggle("hidden", !isLine);
    if (!isLine) return;
    const r = await api("/api/problems/" + encodeURIComponent(c.case_id));
    if (!r.ok) { card.replaceChildren(el("p", { class: "empty" }, r.data.error || "error")); return; }
    const p = r.data, mine = p.owner === me, open = p.children.filter((k) => k.state !== "closed").length +
      p.related_lines.filter((l) => l.state !== "closed").length;
    const note = el("input", { id: "problem-note", size: 50, maxlength: 500, placeholder: "note to the families" });
    note.value = p.note || "";
    const save = el("button", { id: "problem-note-save", onclick: async () => {
      const s = await api("/api/problems/" + encodeURIComponent(c.case_id) + "/note",
        { method: "POST", body: { text: note.value } });
      done(s.ok ? "Note saved." : (s.data.error || "error"), !s.ok);
    } }, "Save note");
    const bulk = el("button", { id: "close-children", class: "danger", onclick: async () => {
      const s = await api("/api/problems/" + encodeURIComponent(c.case_id) + "/close-children",
        { method: "POST", body: {} });
      done(s.ok ? "Closed " + s.data.closed.length + " family cases as infra incident; the families are told " +
        s.data.all_clear + "." : (s.data.error || "error") + " " + (s.data.detail || ""), !s.ok);
    } }, "Close all " + open + " family cases (infra incident)");
    save.disabled = note.disabled = !mine; bulk.disabled = !mine || !open;
    const rows = [["status", p.status], ["owner", p.owner || "nobody yet (claim to acknowledge)"],
      ["started at", clock(p.started_at) + " (" + dur(p.now - p.started_at) + " ago)"],
      ["ended at", p.ended_at ? clock(p.ended_at) : "still on"], ["sessions", String(p.sessions)],
      ["classrooms", p.classroom_count + (p.classrooms.length ? " (" + p.classrooms.join(", ") + ")" : "")]];
    card.replaceChildren(
      el("h2", {}, "Line incident " + p.line),
      el("dl", { class: "ctx", id: "problem-facts" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k }, v)])),
      el("div", { class: "actions" }, note, save),
      el("div", { class: "actions" }, bulk),
      el("p", { id: "related-lines", class: p.related_lines.length ? "" : "hidden" },
        "Related lines (they fail only because of this one): " + p.related_lines.map((l) => l.line).join(", ")),
      el("h2", {}, "Families under it (" + p.children.length + ")"),
      el("table", { id: "children" }, el("tr", {}, el("th", {}, "student"), el("th", {}, "classroom"),
        el("th", {}, "problem"), el("th", {}, "why here"), el("th", {}, "state")),
        ...p.children.map((k) => el("tr", { "data-case-id": k.case_id, "data-state": k.state },
          el("td", {}, k.student_id || ""), el("td", {}, k.classroom_id || ""),
          el("td", {}, k.kind + (k.recovered ? " (recovered)" : "")),
          el("td", {}, k.reason.replaceAll("_", " ")),
          el("td", {}, k.state + (k.outcome ? " · " + k.outcome.replaceAll("_", " ") : ""))))));
  }

  return { banner, badge, show };
})();
