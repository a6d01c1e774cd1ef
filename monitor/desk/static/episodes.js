// One family, one case: a recurrence counter, and a toast when a problem joins a case I own
// (the case's episodes themselves are drawn by drawTelemetry in chart.js).
"use strict";
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

// A recurring case: the diagnosis and the technician's checklist (hidden otherwise).
function showRecurring(box, diagnosisEl, stepsEl, recurring) {
  box.classList.toggle("hidden", !recurring);
  diagnosisEl.textContent = recurring ? recurring.diagnosis : "";
  stepsEl.replaceChildren(...(recurring ? recurring.steps : []).map((s) => FC.el("li", {}, s)));
}
