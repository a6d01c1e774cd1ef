// The queue never moves under the agent's pointer: while the pointer is on the list a new
// order waits (a note says so) and is put in when it leaves; new cards animate in; the
// selected card keeps its place on screen (its rank number still tells its rank).
"use strict";
const FCQueue = (() => {
  const boxes = new WeakMap();  // box -> { hover, pending, note }
  const idsOf = (list) => list.filter((n) => n.dataset && n.dataset.caseId)
    .map((n) => n.dataset.caseId);
  const shownIds = (box) => idsOf([...box.querySelectorAll(":scope > .q-item")]);

  function state(box) {
    let s = boxes.get(box);
    if (s) return s;
    s = { hover: false, pending: null, note: null };
    boxes.set(box, s);
    box.addEventListener("mouseenter", () => { s.hover = true; });
    box.addEventListener("mouseleave", () => {
      s.hover = false;
      if (s.pending) { const p = s.pending; s.pending = null; render(box, p.nodes, p.selected); }
    });
    return s;
  }

  function paused(box, s, on) {
    if (!s.note) {
      s.note = document.createElement("p");
      s.note.id = box.id + "-paused";
      s.note.className = "q-paused hidden";
      s.note.setAttribute("role", "status");
      box.after(s.note);
    }
    s.note.textContent = on ? "The queue changed; its new order shows when the pointer leaves " +
      "the list." : "";
    s.note.classList.toggle("hidden", !on);
  }

  // The cards in rank order, except the selected one, which stays where it is shown now.
  function arrange(before, nodes, selected) {
    const order = nodes.slice();
    const was = selected ? before.indexOf(selected) : -1;
    const now = order.findIndex((n) => n.dataset && n.dataset.caseId === selected);
    if (was >= 0 && now >= 0 && was !== now) {
      const [card] = order.splice(now, 1);
      order.splice(Math.min(was, order.length), 0, card);
      card.dataset.pinned = "1";
    }
    return order;
  }

  // Show `nodes` (cards with data-case-id, or an empty note) in `box`, keeping `selected` put.
  function render(box, nodes, selected) {
    const s = state(box);
    const before = shownIds(box);
    const order = arrange(before, nodes, selected);
    // Under the pointer only the same cards in the same order are redrawn (timers tick).
    if (s.hover && before.length && idsOf(order).join(" ") !== before.join(" ")) {
      s.pending = { nodes, selected };
      paused(box, s, true);
      return false;
    }
    s.pending = null;
    const seen = new Set(before);
    for (const n of order) {
      if (before.length && n.dataset && n.dataset.caseId && !seen.has(n.dataset.caseId)) {
        n.classList.add("q-new");
        n.addEventListener("animationend", () => n.classList.remove("q-new"), { once: true });
      }
    }
    box.replaceChildren(...order);
    paused(box, s, false);
    return true;
  }
  return { render };
})();
