// Goodwill offers (make-up lessons, credits): confirm or decline with one click and a reason.
// On the console (a family's offers, for agents) and the dashboard (line incidents' bulk
// offers, for ops); the server decides who may decide which (monitor/desk/api_goodwill.py).
"use strict";
(() => {
  const { api, el } = FC;
  const box = document.getElementById("goodwill");
  if (!box) return;
  const bulk = box.dataset.bulk === "true";
  const msg = document.getElementById("goodwill-status");

  function row(o) {
    const reason = el("input", { size: "24", placeholder: "reason", "data-reason": o.case_id });
    const decide = (verb) => async () => {
      const r = await api("/api/goodwill/" + encodeURIComponent(o.case_id) + "/" + verb,
        { method: "POST", body: { reason: reason.value } });
      msg.className = r.ok ? "" : "err";
      msg.textContent = r.ok ? (verb === "confirm" ? "Confirmed: " : "Declined: ") + o.case_id
        : String(r.data.error || r.status).replaceAll("_", " ") + (r.data.detail ? ": " + r.data.detail : "");
      refresh();
    };
    const who = o.bulk ? o.families + " families (line incident)"
      : o.members.map((m) => m.student_id).join(", ");
    return el("div", { class: "q-item", "data-offer": o.case_id },
      el("div", { class: "top" }, el("span", {}, (o.kind === "credit" ? "CREDIT" : "MAKE-UP") + " · " + who),
         el("span", { class: "wait" }, o.minutes_lost + " min lost")),
      el("div", { class: "sub" }, o.why),
      el("div", { class: "actions" }, reason,
         el("button", { class: "primary", "data-confirm": o.case_id, onclick: decide("confirm") }, "Confirm"),
         el("button", { "data-decline": o.case_id, onclick: decide("decline") }, "Decline")));
  }

  async function refresh() {
    if (document.getElementById("app").classList.contains("hidden")) return;  // not signed in yet
    const r = await api("/api/goodwill?state=proposed");
    if (!r.ok) return;
    const offers = r.data.offers.filter((o) => o.bulk === bulk);
    // Rows already shown are kept as they are: a reason being typed survives the refresh.
    const shown = new Map([...box.querySelectorAll("[data-offer]")].map((n) => [n.dataset.offer, n]));
    box.replaceChildren(...(offers.length ? offers.map((o) => shown.get(o.case_id) || row(o))
      : [el("p", { class: "empty" }, "No offer waits for a decision.")]));
  }

  refresh();
  setInterval(refresh, 3000);
})();
