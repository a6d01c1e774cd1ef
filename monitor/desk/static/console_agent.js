// Agent basics on the console: search and filters, the family before calling, the chat
// transcript, the words' language and the demo's "10x demo time" note.
"use strict";
(() => {
  const { api, el, clock } = FC;
  const { word, tag } = FCWords;
  const $ = (id) => document.getElementById(id);
  const KINDS = ["lag", "disconnect", "flapping", "line"];
  const rooms = new Set();

  // The search box and filters above the queue.
  const search = el("input", { id: "search", type: "search", maxlength: "64", autocomplete: "off",
    placeholder: "student, guardian, phone's last digits or case id", "aria-label": "search cases" });
  const kind = el("select", { id: "f-kind", "aria-label": "filter by kind" },
    el("option", { value: "" }, "all kinds"), ...KINDS.map((k) => el("option", { value: k, title: k }, word(k))));
  const state = el("select", { id: "f-state", "aria-label": "filter by state" },
    el("option", { value: "" }, "any state"), el("option", { value: "waiting" }, "waiting"),
    el("option", { value: "held" }, "held"), el("option", { value: "recovered" }, "recovered"));
  const room = el("select", { id: "f-classroom", "aria-label": "filter by classroom" },
    el("option", { value: "" }, "all classrooms"));
  const results = el("div", { id: "search-results", class: "search-results hidden" });
  const finder = el("div", { id: "finder", class: "finder" }, search,
    el("div", { class: "actions filters" }, kind, state, room), results);
  $("take-next").parentNode.before(finder);

  function filters() {
    const p = new URLSearchParams();
    if (kind.value) p.set("kind", kind.value);
    if (state.value) p.set("state", state.value);
    if (room.value) p.set("classroom", room.value);
    return p;
  }
  FC.queueQuery = () => { const s = filters().toString(); return s ? "?" + s : ""; };
  FC.onQueue = (q) => {
    for (const w of [...q.waiting, ...q.held]) if (w.classroom_id && !rooms.has(w.classroom_id)) {
      rooms.add(w.classroom_id);
      room.append(el("option", { value: w.classroom_id }, w.classroom_id));
    }
  };

  let asked = 0;
  async function find() {
    const text = search.value.trim();
    if (!text) { results.classList.add("hidden"); results.replaceChildren(); return; }
    const p = filters();
    p.delete("state");  // the queue's own words; a search finds cases in any state
    p.set("q", text);
    const mine = ++asked;
    const r = await api("/api/search?" + p.toString());
    if (mine !== asked) return;  // an older answer arriving late
    results.classList.remove("hidden");
    if (!r.ok) { results.replaceChildren(el("p", { class: "err" }, r.data.detail || r.data.error)); return; }
    const found = r.data.results;
    results.replaceChildren(el("p", { class: "hint" }, found.length ? found.length + " found" : "No case found."),
      ...found.map((f) => el("div", { class: "s-item", "data-case-id": f.case_id, "data-matched": f.matched,
        onclick: () => FC.console && FC.console.select(f.case_id) },
        el("strong", {}, f.student_name || f.student_id || f.case_id), " · ", tag(f.kind), " · ", tag(f.state),
        f.phone ? " · " + f.phone : "", el("div", { class: "sub" }, f.case_id + " · " + (f.classroom_id || "") +
          " · opened " + clock(f.opened_at) + " · matched " + f.matched))));
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
  for (const s of [kind, state, room]) s.addEventListener("change", () => {
    if (FC.console) FC.console.refreshQueue();
    find();
  });

  // The family before calling, and the chat so far (both fetched with the case).
  const family = el("div", { id: "family", class: "family" });
  $("case-sub").after(family);
  const transcript = el("ul", { id: "transcript", class: "transcript" });
  $("chart").closest(".card").before(el("div", { class: "card" }, el("h2", {}, "Chat with the family"), transcript));

  function showFamily(f) {
    if (!f || !f.family) { family.replaceChildren(el("span", { class: "empty" }, "No family in the directory.")); return; }
    const gs = f.family.guardians;
    family.replaceChildren(el("span", { class: "lbl" }, "Before you call: "),
      ...(gs.length ? gs.map((g) => el("span", { class: "guardian", "data-position": g.position },
        el("strong", { class: "g-name" }, g.name), " (", el("span", { class: "g-relation" }, g.relation), ") · speaks ",
        el("span", { class: "g-language", title: g.language }, g.language === "zh-CN" ? "Chinese (zh-CN)" :
          g.language === "en" ? "English (en)" : g.language), " · ",
        el("span", { class: "g-phone" }, g.phone || "no phone"),
        g.do_not_call ? el("span", { class: "badge" }, "do not call") : "",
        g.quiet_hours ? el("span", { class: "badge" }, "quiet " + g.quiet_hours) : ""))
        : [el("span", { class: "empty" }, "no guardian listed")]));
    transcript.replaceChildren(...(f.transcript.length ? f.transcript.map((t) =>
      el("li", { class: "from-" + t.from, "data-from": t.from }, el("span", { class: "t" }, clock(t.at)),
        el("strong", {}, t.from === "family" ? "family: " : "FirstCall: "),
        t.text === null ? el("em", {}, "a chat message (its words were not kept)") : t.text,
        t.intent ? el("span", { class: "badge" }, tag(t.intent, t.intent.replaceAll("_", " "))) : "",
        t.status ? el("span", { class: "badge" }, t.status) : ""))
      : [el("li", { class: "empty" }, "No chat on this case.")]));
  }
  let shownFor = null;
  FC.onCase = async (v) => {
    const id = v.case.case_id;
    const r = await api("/api/cases/" + encodeURIComponent(id) + "/family");
    if (r.ok && FC.console && FC.console.selected() === id) { shownFor = id; showFamily(r.data); }
    else if (shownFor !== id) showFamily(null);
  };

  // The words' language, and the demo's speed.
  const lang = el("select", { id: "ui-lang", "aria-label": "language of the console's words" },
    ...FCWords.LANGS.map((l) => el("option", { value: l }, l === "en" ? "English" : "中文")));
  lang.value = FCWords.lang();
  lang.addEventListener("change", () => { FCWords.setLang(lang.value); location.reload(); });
  const speed = el("span", { id: "demo-speed", class: "demo-speed hidden", role: "note" });
  document.querySelector("header nav").after(speed, lang);
  FC.onStart = async () => {
    const r = await api("/api/clock");
    if (r.ok && r.data.speed > 1) {
      const x = Number(r.data.speed).toLocaleString("en", { maximumFractionDigits: 1 });
      speed.textContent = x + "x demo time";
      speed.title = "The demo runs " + x + " times faster than real time: waits, timers and " +
        "service levels are in school time.";
      speed.classList.remove("hidden");
    }
  };
})();
