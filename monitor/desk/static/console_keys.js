// Keyboard shortcuts of the console: j/k move through the cases, c claims, r resolves
// (outcome picker, then Enter), ? shows them; none while typing in a field.
"use strict";
(() => {
  const { el } = FC;
  const $ = (id) => document.getElementById(id);
  const KEYS = [["j", "next case in the queue"], ["k", "previous case"], ["c", "claim the case"],
    ["r", "resolve: pick the outcome, then Enter (in the note) resolves"], ["/", "search"],
    ["?", "show or hide this help"], ["Esc", "close this help"]];
  const help = el("div", { id: "help", class: "help hidden", role: "dialog", "aria-label": "keyboard shortcuts" },
    el("div", { class: "card" }, el("h2", {}, "Keyboard shortcuts"),
      el("dl", { class: "ctx" }, ...KEYS.flatMap(([k, what]) => [el("dt", {}, el("kbd", {}, k)), el("dd", {}, what)])),
      el("p", { class: "hint" }, "Shortcuts are off while you type in a field."),
      el("button", { id: "help-close", onclick: () => toggle(false) }, "Close")));
  document.body.append(help);
  const open = el("button", { id: "help-open", title: "keyboard shortcuts (?)", onclick: () => toggle() }, "?");
  document.querySelector("header .who").prepend(open);

  function toggle(show) { help.classList.toggle("hidden", show === undefined ? undefined : !show); }

  function typing(t) {
    return t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  }

  function move(step) {
    if (!FC.console) return;
    const cards = [...document.querySelectorAll("#queue > .q-item, #held > .q-item")];
    if (!cards.length) return;
    const at = cards.findIndex((c) => c.dataset.caseId === FC.console.selected());
    const next = at < 0 ? (step > 0 ? 0 : cards.length - 1) : Math.max(0, Math.min(cards.length - 1, at + step));
    cards[next].scrollIntoView({ block: "nearest" });
    FC.console.select(cards[next].dataset.caseId);
  }

  function press(id) { const b = $(id); if (b && !b.disabled && !$("case").classList.contains("hidden")) b.click(); }

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") { toggle(false); return; }
    if (typing(e.target) || $("app").classList.contains("hidden")) return;
    const act = { j: () => move(1), k: () => move(-1), c: () => press("claim"), "?": () => toggle(),
      r: () => { if (!$("resolve").disabled) { $("outcome").focus(); $("outcome").scrollIntoView({ block: "center" }); } },
      "/": () => $("search") && $("search").focus() }[e.key];
    if (act) { e.preventDefault(); act(); }
  });
  // Enter on the outcome goes on to the note; Enter in the note resolves with the outcome
  // picked (the record check still applies).
  $("outcome").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); $("note").focus(); }
  });
  $("note").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !$("resolve").disabled) { e.preventDefault(); $("resolve").click(); }
  });
})();
