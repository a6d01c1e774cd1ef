// Satisfaction follow-ups in the console: the follow-up cases waiting (with the agent each is
// for), recent scores, scores per agent; and at a follow-up case's pickup, its original case.
"use strict";
const FCFollowups = (() => {
  const { api, clock, el } = FC;
  const cell = (v) => el("td", {}, v === null || v === undefined || v === "" ? "–" : String(v));

  async function refresh(box, me, select) {
    const r = await api("/api/followups");
    if (!r.ok) return;
    const f = r.data;
    const queue = f.queue.length ? f.queue.map((q) => el("div", {
      class: "q-item kind-satisfaction", "data-case-id": q.case_id, onclick: () => select(q.case_id) },
      el("div", { class: "top" }, el("span", {}, "FOLLOW-UP · " + (q.student_id || "")),
        el("span", { class: "badge" + (q.agent === me.name ? " mine" : "") },
          q.owner ? "held by " + q.owner : q.agent ? "for " + q.agent : "for anyone")),
      el("div", { class: "sub" }, q.reason.replaceAll("_", " ") + " · queued " + clock(q.queued_at))))
      : [el("p", { class: "empty" }, "No follow-up case is waiting.")];
    const scores = el("table", { id: "followup-scores" }, el("tr", {}, ...["sent", "family", "by", "score",
      "comment", "state"].map((h) => el("th", {}, h))),
      ...f.recent.map((s) => el("tr", { "data-case-id": s.case_id, class: s.score !== null && s.score <= 3 ? "low" : "" },
        cell(s.sent_at ? clock(s.sent_at) : ""), cell(s.student_id), cell(s.channel),
        el("td", { "data-field": "score" }, s.score === null ? "–" : s.score + "/5"), cell(s.comment),
        cell(s.state))));
    const agents = el("table", { id: "followup-agents" }, el("tr", {}, ...["agent (7 days)", "answers", "mean",
      "3 or below"].map((h) => el("th", {}, h))),
      ...f.by_agent.map((a) => el("tr", {}, cell(a.agent), cell(a.answers), cell(a.mean), cell(a.low))));
    box.replaceChildren(el("div", { id: "followup-queue" }, ...queue), scores, agents);
  }

  // The original case of a follow-up case: its score, comment and whole timeline.
  function showOriginal(card, list, original) {
    card.classList.toggle("hidden", !original);
    if (!original) return;
    card.querySelector("h2").textContent = "Follows up " + original.case_id + " (" + original.kind +
      ", " + (original.outcome || "open") + ") · score " + (original.score ?? "–") + "/5" +
      (original.comment ? " · “" + original.comment + "”" : "") + (original.agent ? " · helped by " + original.agent : "");
    list.replaceChildren(...original.timeline.map((e) => el("li", {}, el("span", { class: "t" }, clock(e.at)),
      e.kind.replaceAll("_", " ") + " (" + e.actor + ")")));
  }

  return { refresh, showOriginal };
})();
