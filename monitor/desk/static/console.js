// Agent console: the call queue, and at pickup everything about the case.
"use strict";
(() => {
  const { api, live, dur, clock, el } = FC;
  const { word, tag } = FCWords;
  let me = null, selected = null, current = null;
  const $ = (id) => document.getElementById(id);

  function status(text, err, unreachable) {
    $("status").textContent = text || ""; $("status").className = err ? "err" : "";
    $("status").dataset.unreachable = unreachable ? "yes" : "";  // cleared once the server answers again
  }

  async function refreshQueue() {
    const r = await api("/api/queue" + (FC.queueQuery ? FC.queueQuery() : ""));
    if (!r.ok) return;
    const q = r.data;
    FCProblem.banner($("outage-banner"), q.outages || [], select);
    const box = $("queue"), cards = [];
    if (FC.onQueue) FC.onQueue(q);
    const total = q.total_waiting ?? q.waiting.length;
    $("queue-count").textContent = "(" + (total === q.waiting.length ? total + " waiting)" :
      q.waiting.length + " of " + total + " waiting shown)");
    if (!q.waiting.length) cards.push(el("p", { class: "empty" }, total ? "No waiting case matches the filters." : "Nobody is waiting."));
    q.waiting.forEach((w, i) => {
      const rank = w.rank || i + 1;
      const pct = Math.max(0, Math.min(100, 100 * w.sla_left_ms / q.sla_ms));
      const item = el("div", { class: "q-item kind-" + w.kind + (w.breached ? " breached" : "") +
          (w.sla_warning ? " sla-warn" : "") + (w.case_id === selected ? " selected" : ""),
          "data-case-id": w.case_id, "data-rank": rank, onclick: () => select(w.case_id) },
        el("div", { class: "top" }, el("span", {}, rank + ". ", tag(w.kind, w.kind.toUpperCase()), " · " + (w.student_id || (w.problem && w.problem.line) || "")),
           el("span", { class: "wait" }, dur(w.waited_ms))),
        el("div", { class: "sub" }, tag(w.reason), " · ", FCWords.priority(rank, w.score),
           w.breached ? el("span", { class: "sla-text" }, " · past SLA") : w.sla_warning ?
             el("span", { class: "sla-text warn", title: "the service level is missed in " + dur(w.sla_left_ms) },
               " · SLA in " + dur(w.sla_left_ms) + ": answer soon") : " · SLA in " + dur(w.sla_left_ms)),
        el("div", { class: "sla" }, el("i", { style: "width:" + pct + "%" })));
      if (w.offered_to) item.querySelector(".sub").append(el("span", { class: "badge" + (w.offered_to === me.name ? " mine" : "") },
        w.offered_to === me.name ? "for you" : "for " + w.offered_to));
      if (w.last_helper) item.querySelector(".sub").append(el("span", { class: "badge" }, "last helped by " + w.last_helper));
      if (w.recovered) item.querySelector(".sub").append(el("span", { class: "badge ok" }, "recovered"));
      if (w.problem) item.querySelector(".sub").append(FCProblem.badge(w.problem));
      cards.push(item);
    });
    FCQueue.render(box, cards, selected);
    const held = $("held"); held.replaceChildren();
    if (!q.held.length) held.append(el("p", { class: "empty" }, "No case is held."));
    q.held.forEach((h, i) => {  // newest problem first: a problem joining a held case moves it up
      held.append(el("div", { class: "q-item kind-" + h.kind + (h.case_id === selected ? " selected" : ""),
        "data-case-id": h.case_id, "data-rank": i + 1, onclick: () => select(h.case_id) },
        el("div", { class: "top" }, el("span", {}, h.kind.toUpperCase() + " · " + (h.student_id || (h.problem && h.problem.line) || "")),
           el("span", { class: "badge" + (h.owner === me.name ? " mine" : "") }, h.owner))));
    });
    const sc = q.school;
    $("school-summary").textContent = sc.in_class + " students in class · " + sc.problem_count +
      (sc.problem_count === 1 ? " problem" : " problems") + " right now";
    $("school").replaceChildren(...sc.problems.map((p) => el("tr", {}, el("td", {}, tag(p.kind)),
      el("td", {}, p.student_id || ""), el("td", {}, dur(p.age_ms)),
      el("td", {}, p.contacted ? "family reached" : "watching"))));
    $("agents-online").replaceChildren("Agents online: ", ...q.agents.filter((a) => a.online).flatMap((a, i) => [i ? ", " : "",
      el("span", { class: "agent" + (a.name === me.name ? " mine" : ""), "data-agent": a.name },
        a.name + (a.free ? " (free)" : a.holding ? " (holding " + a.holding + ")" : ""))]));
    const sel = $("transfer-to"), keep = sel.value; sel.replaceChildren(el("option", { value: "" }, "transfer to…"));
    for (const a of q.agents) if (a.name !== me.name) sel.append(el("option", { value: a.name }, a.name + (a.free ? " (free)" : "")));
    sel.value = keep;
    FCFollowups.refresh($("followups"), me, select);
  }

  async function select(caseId) { selected = caseId; await refreshCase(); refreshQueue(); }

  async function refreshCase() {
    if (!selected) return;
    const r = await api("/api/cases/" + encodeURIComponent(selected));
    if (!r.ok) { status(r.data.error + " " + (r.data.detail || ""), true, r.status === 0); return; }
    if ($("status").dataset.unreachable === "yes") status("");
    const v = r.data, c = v.case; current = v;
    $("case-empty").classList.add("hidden"); $("case").classList.remove("hidden");
    $("case-title").textContent = c.kind.toUpperCase() + " · " + (c.student_id || v.line || "") + " · " + c.case_id;
    $("case-title").dataset.caseId = c.case_id;
    const mine = c.owner === me.name;
    $("case-sub").replaceChildren(
      el("span", { id: "case-state", title: c.state, "data-code": c.state }, "state " + word(c.state)), " · ",
      el("span", { id: "case-owner" }, c.owner ? "owner " + c.owner : "unclaimed"), " · ",
      "problem began " + dur(v.now - c.incident_started_at) + " ago" + (c.incident_ended_at ? " (recovered)" : " (still on)"),
      c.outcome ? " · outcome " : "", c.outcome ? tag(c.outcome) : "");
    $("claim").disabled = !!c.owner || c.state !== "waiting_agent";
    for (const id of ["release", "transfer", "call", "resolve"]) $(id).disabled = !mine;
    showCall(v.call, v.call_back_due_at, mine);
    FCProblem.show($("problem"), c, me.name, async (text, err) => { status(text, err); await refreshCase(); refreshQueue(); });
    drawTelemetry($("chart"), v.telemetry.points, v.telemetry.marks, c.incident_started_at,
      c.incident_ended_at, v.now, v.episodes || []);
    showRecurrences($("recurrence"), v.recurrences);
    FCFollowups.showOriginal($("original"), $("original-timeline"), v.follow_up_of);
    showRecurring($("recurring-box"), $("diagnosis"), $("tech-steps"), v.recurring);
    toastJoined(v, me.name, $("toast"));
    const ctx = v.context || {};
    const line = ctx.line || {};
    const rows = [["device", ctx.device], ["OS", ctx.os], ["app version", ctx.app_version], ["connection", ctx.conn],
      ["line", v.line], ["edge", line.edge], ["ISP / region", (line.isp || "?") + " / " + (line.region || "?")],
      ["classroom", c.classroom_id], ["teacher", ctx.teacher], ["session", c.session_id],
      ["lesson ends", ctx.lesson_end ? clock(ctx.lesson_end) : "–"]];
    $("context").replaceChildren(...rows.flatMap(([k, val]) => [el("dt", {}, k), el("dd", { "data-field": k }, val || "–")]));
    $("script").textContent = v.script.en; $("script-zh").textContent = v.script["zh-CN"];
    $("timeline").replaceChildren(...v.timeline.map((e) => el("li", {}, el("span", { class: "t" }, clock(e.at)),
      tag(e.kind), " (" + e.actor + ")", ...describe(e))));
    if (FC.onCase) FC.onCase(v);
    const earlier = $("earlier");
    earlier.replaceChildren(el("tr", {}, el("th", {}, "opened"), el("th", {}, "kind"), el("th", {}, "outcome"), el("th", {}, "min lost")));
    if (!v.earlier_cases.length) earlier.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "First case of this family.")));
    for (const e of v.earlier_cases) earlier.append(el("tr", {}, el("td", {}, new Date(e.opened_at).toISOString().slice(0, 16).replace("T", " ")),
      el("td", {}, tag(e.kind)), el("td", {}, tag(e.outcome || e.state)), el("td", {}, e.lesson_minutes_lost ?? "–")));
  }

  const CALL_WORDS = { dialling: "dialling…", ringing: "ringing…", answered: "answered",
    no_answer: "no answer", failed: "call failed" };
  function showCall(call, dueAt, mine) {
    $("call-box").classList.toggle("hidden", !call && !dueAt);
    $("call-who").textContent = call ? (call.guardian || "the guardian") + " " + (call.to || "") : "the family";
    $("call-progress").textContent = call ? CALL_WORDS[call.state] || call.state : "";
    $("call-progress").dataset.state = call ? call.state : "";
    $("call-offers").classList.toggle("hidden", !call || !call.offers.length || !mine);
    $("call-back-due").textContent = dueAt ? "call back due at " + clock(dueAt) : "";
  }

  // An error answer in words, whatever its shape (a failed call answers {status, reason}).
  function problem(r) {
    const d = (r && typeof r.data === "object" && r.data) || {};
    const code = String(d.error || (d.status === "failed" ? "the call did not get through" : "error " + r.status));
    const why = d.detail || d.reason || "";
    return code.replaceAll("_", " ") + (why ? ": " + String(why).replaceAll("-", " ") : "");
  }

  // A timeline event's details: codes as plain words (the code in the tooltip).
  function describe(e) {
    const d = e.data || {};
    if (e.kind === "state") return [": ", tag(d.from), " → ", tag(d.to), ...(d.reason ? [" (", tag(d.reason), ")"] : []),
      ...(d.outcome ? [" · ", tag(d.outcome)] : [])];
    if (e.kind === "outreach") return [": " + word(d.action) + " · ", tag(d.reason)];
    if (e.kind === "outcome_confirmed") return [": ", tag(d.outcome), " despite " + d.despite];
    if (e.kind === "fallback" && d.step) return [": " + word(d.step) + " (", tag(d.reason), ")"];
    if (e.kind === "chat_reply") return [": “" + (d.text || "") + "”"];
    return [describeText(e)];
  }

  function describeText(e) {
    const d = e.data || {};
    if (e.kind === "note") return ": " + d.text;
    if (e.kind === "call") return ": " + (d.guardian || "") + " " + (d.to || "") + " · " + d.status + (d.reason ? " (" + d.reason + ")" : "");
    if (e.kind === "sms") return ": " + (d.to || "") + " · " + d.status + (d.reason ? " (" + d.reason + ")" : "");
    if (e.kind.startsWith("call_") && d.status) return ": " + d.status;
    if (e.kind === "call_back_scheduled") return ": due " + clock(d.due_at);
    if (e.kind === "attempt") return ": " + d.channel;
    if (e.kind === "telemetry") return ": " + d.points + " stats intervals saved";
    if (e.kind === "transferred") return ": → " + d.to;
    if (e.kind === "satisfaction") return ": " + (d.score ?? "–") + "/5" + (d.comment ? " “" + d.comment + "”" : "");
    if (e.kind.startsWith("followup_")) return ": " + (d.channel || d.reason || (d.due_at ? "due " + clock(d.due_at) : ""));
    return "";
  }

  async function act(path, body, done) {
    status("…");
    let r;
    try {
      r = await api("/api/cases/" + encodeURIComponent(selected) + "/" + path, { method: "POST", body: body || {} });
    } catch (err) { status("The server did not answer; try again.", true); return null; }
    if (!r.ok) status(problem(r), true);
    else status(done(r.data));
    await refreshCase(); await refreshQueue();
    return r;
  }

  async function resolve(confirm) {
    const r = await act("resolve", { outcome: $("outcome").value, note: $("note").value, confirm },
      (d) => "Resolved: " + word(d.outcome) + ", " + d.lesson_minutes_lost + " lesson minutes lost.");
    const against = r && r.status === 409 && r.data.error === "outcome_contradicts_record";
    $("confirm-box").classList.toggle("hidden", !against);
    if (against) $("confirm-why").textContent = r.data.detail;
  }

  function start(user) {
    me = user;
    api("/api/outcomes").then((r) => { if (r.ok) $("outcome").replaceChildren(...r.data.outcomes.map((o) => el("option", { value: o, title: o }, word(o)))); });
    $("claim").onclick = () => act("claim", {}, () => "Claimed. The family is yours.");
    $("release").onclick = () => act("release", {}, () => "Released back to the queue.");
    $("transfer").onclick = () => act("transfer", { to: $("transfer-to").value }, (d) => "Transferred to " + d.owner + ".");
    const ring = () => act("call", {}, (d) => "Calling the guardian (" + d.status + ").");
    $("call").onclick = ring; $("retry-call").onclick = ring;
    $("send-sms").onclick = () => act("sms", {}, (d) => "SMS to the guardian: " + d.status + ".");
    $("call-back").onclick = () => act("call-back", { in_minutes: Number($("call-back-min").value) },
      (d) => "Call back scheduled for " + clock(d.due_at) + ".");
    $("resolve").onclick = () => resolve(false);
    $("confirm-resolve").onclick = () => resolve(true);
    $("outcome").onchange = () => $("confirm-box").classList.add("hidden");
    $("take-next").onclick = async () => {
      const r = await api("/api/queue/next", { method: "POST", body: {} });
      if (!r.ok) { status(r.data.detail || r.data.error, true); return; }
      status("Claimed the next case."); await select(r.data.case_id);
    };
    refreshQueue();
    live((topics) => {
      if (topics.includes("*") || topics.includes("queue")) refreshQueue();
      if (selected && (topics.includes("*") || topics.includes("case:" + selected))) refreshCase();
    });
    setInterval(() => { refreshQueue(); if (selected) refreshCase(); }, 3000);
    FC.console = { select, refreshQueue, refreshCase, selected: () => selected, me: () => me };
    if (FC.onStart) FC.onStart(user);
  }
  FC.setupLogin(start);
})();
