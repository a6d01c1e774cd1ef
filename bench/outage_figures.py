"""The outage phase's figures: what the processes published and stored, read back."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from bench.outage_school import OUTAGE_EDGE, STEP_MS, T0, OutageScenario, phone_of
from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.store.db import make_engine
from outreach.store.models import case_events, case_incidents, cases

if TYPE_CHECKING:
    from bench.outage_procs import SchoolClock


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def figures_of(dsn: str, sc: OutageScenario, incidents: list[dict[str, Any]],
                   outcomes: list[dict[str, Any]], standin: TwilioStandIn,
                   students: list[str], clock: SchoolClock) -> dict[str, Any]:  # fmt: skip
    """What happened, from the topics, the case store and the stand-in.

    Times of the ordinary families are on the school's event clock: from the problem's
    start in the scenario to the decision (its `decided_at`) and to the first contact
    (the case's first `sending`/`attempt`, a wall moment put on the school's clock).
    """
    outage_sessions = set(sc.on_outage_edge())
    problems = sc.ordinary_problems()
    opened = {str(r["incident_id"]): r for r in incidents if r["state"] == "open"}
    line = next((r for r in incidents if r["kind"] == "line" and r["state"] == "closed"), None)
    verdict = next((r for r in incidents if r["kind"] == "line" and r["state"] == "open"), None)
    decisions = {str(r["incident_id"]): r for r in outcomes if r.get("record") == "outreach"}
    phone_to_session = {phone_of(i): s.removeprefix("st-") for i, s in enumerate(students)}
    contacted: dict[str, int] = {}
    for req in standin.requests:
        to = req.param("To") if req.method == "POST" else None
        if to in phone_to_session:
            contacted[phone_to_session[to]] = contacted.get(phone_to_session[to], 0) + 1
    engine = make_engine(dsn)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(
                cases.c.case_id, cases.c.session_id, cases.c.state, cases.c.outcome,
                cases.c.closed_at, cases.c.kind))).all()  # fmt: skip
            joined = {str(r.incident_id): str(r.case_id) for r in (await conn.execute(
                sa.select(case_incidents.c.incident_id, case_incidents.c.case_id))).all()}
            first_contact = {str(r.case_id): int(r.at) for r in (await conn.execute(
                sa.select(case_events.c.case_id, sa.func.min(case_events.c.at).label("at"))
                .where(case_events.c.kind.in_(("sending", "attempt")))
                .group_by(case_events.c.case_id))).all()}
            # When the service put each case's first decision on its timeline (wall).
            recorded = {str(r.case_id): int(r.at) for r in (await conn.execute(
                sa.select(case_events.c.case_id, sa.func.min(case_events.c.at).label("at"))
                .where(case_events.c.kind == "decision")
                .group_by(case_events.c.case_id))).all()}
            kinds: dict[str, list[str]] = {}
            timeline = sa.select(case_events.c.case_id, case_events.c.kind).order_by(
                case_events.c.at, case_events.c.event_id)
            for ev in (await conn.execute(timeline)).all():
                kinds.setdefault(str(ev.case_id), []).append(str(ev.kind))
    finally:
        await engine.dispose()
    session_incidents = {i: r for i, r in opened.items() if r.get("session_id")}
    ordinary = {i: r for i, r in session_incidents.items() if r["session_id"] in problems}
    outage = {i: r for i, r in session_incidents.items() if r["session_id"] in outage_sessions}
    delays, to_contact, total, handling = [], [], [], []
    to_record, record_to_contact = [], []  # the service's work: taking the decision in; acting
    for i, r in ordinary.items():
        if (d := decisions.get(i)) is None:
            continue
        start, decided = problems[r["session_id"]][1], int(d["decided_at"])
        delays.append((decided - start) / 1000)
        if (wall := first_contact.get(joined.get(i, ""))) is None:
            continue
        handling.append((wall - int(d["_ts"])) / 1000)  # the service's own work, wall s
        if (noted := recorded.get(joined.get(i, ""))) is not None:
            to_record.append((noted - int(d["_ts"])) / 1000)
            record_to_contact.append((wall - noted) / 1000)
        if (at := clock.event_at(wall)) is not None:
            to_contact.append((at - decided) / 1000)
            total.append((at - start) / 1000)
    by_case = {str(r.case_id): r for r in rows}
    outage_cases = {joined[i] for i in outage if i in joined}
    # When the line's end was published (wall clock, as the cases' closed_at).
    line_end = int(line["_ts"]) if line else None
    late_close = [c for c in outage_cases if by_case[c].closed_at is None
                  or (line_end is not None and int(by_case[c].closed_at) > line_end + 60_000)]
    close_lag = [(int(by_case[c].closed_at) - line_end) / 1000 for c in outage_cases
                 if line_end is not None and by_case[c].closed_at is not None]
    # The in-app notice of the outage's families (their only contact): when, on the school's
    # clock, from the edge going down.
    down = T0 + sc.outage_at_s * 1000
    noticed = [(at - down) / 1000 for c in outage_cases if (wall := first_contact.get(c))
               and (at := clock.event_at(wall)) is not None]  # fmt: skip
    before_verdict = sum(1 for r in outage.values()
                         if verdict is not None and int(r["_ts"]) < int(verdict["_ts"]))
    return {
        "outage_incidents_before_verdict": before_verdict,
        "outage_noticed": len(noticed),
        "outage_notice_s_p50": _pct(noticed, 0.5), "outage_notice_s_p95": _pct(noticed, 0.95),
        "sessions": sc.sessions, "outage_sessions": len(outage_sessions),
        "line_incidents": sorted({str(r["incident_id"]) for r in incidents if r["kind"] == "line"}),
        "line_records": sum(1 for r in incidents if r["kind"] == "line"),
        "line_record_bytes_max": max((len(orjson.dumps(r)) for r in incidents
                                      if r["kind"] == "line"), default=0),
        "session_incidents": len(session_incidents),
        "ordinary_incidents": len(ordinary), "ordinary_expected": len(problems),
        "decisions_missing": sorted(i for i in session_incidents if i not in decisions),
        "incidents_without_case": sorted(i for i in session_incidents if i not in joined),
        "ordinary_contact_actions": sorted({str(decisions[i]["action"]) for i in ordinary
                                            if i in decisions}),
        "ordinary_decisions": sum(1 for i in ordinary if i in decisions),
        "decision_delay_s_p50": _pct(delays, 0.5), "decision_delay_s_p95": _pct(delays, 0.95),
        "decided_to_contact_s_p50": _pct(to_contact, 0.5),
        "decided_to_contact_s_p95": _pct(to_contact, 0.95),
        "problem_to_contact_s_p50": _pct(total, 0.5),
        "problem_to_contact_s_p95": _pct(total, 0.95),
        "problem_to_contact_s_max": max(total, default=None),
        "published_to_contact_wall_s_p50": _pct(handling, 0.5),
        "published_to_contact_wall_s_p95": _pct(handling, 0.95),
        "published_to_recorded_wall_s_p50": _pct(to_record, 0.5),
        "published_to_recorded_wall_s_p95": _pct(to_record, 0.95),
        "recorded_to_contact_wall_s_p50": _pct(record_to_contact, 0.5),
        "recorded_to_contact_wall_s_p95": _pct(record_to_contact, 0.95),
        "ordinary_contacted": len(total),
        # Decided to contact, never contacted: the last thing on their case's timeline.
        "ordinary_uncontacted_last_event": dict(Counter(
            kinds.get(joined.get(i, ""), ["no case"])[-1] for i in ordinary
            if i in decisions and decisions[i]["action"] != "none"
            and joined.get(i) not in first_contact)),
        "ordinary_actions": dict(Counter(str(decisions[i]["action"]) for i in ordinary
                                         if i in decisions)),
        "outage_families_phoned": sum(contacted.get(s, 0) for s in outage_sessions),
        "ordinary_families_phoned": sum(contacted.get(s, 0) for s in problems),
        "outage_cases": len(outage_cases),
        "outage_cases_not_closed_in_60s": len(late_close),
        "outage_close_after_line_end_s_max": max(close_lag, default=None),
        "outage_outcomes": sorted({str(by_case[c].outcome) for c in outage_cases}),
        "open_cases": sum(1 for r in rows if r.closed_at is None and r.kind != "line"
                          and str(r.case_id) not in outage_cases),
        "edge": OUTAGE_EDGE,
    }


def timing_settings(env: dict[str, str] | None = None) -> dict[str, float]:
    """The settings that set how soon an ordinary problem can be decided (defaults + `env`)."""
    from monitor.platform.settings import load_settings

    st = load_settings(None, env or {})
    det, out = st["detection"], st["outreach"]
    names = {"detection": ("lag_window", "lag_min_degraded", "silence_ms", "lateness_ms"),
             "outreach": ("hold_off_ms", "line_suspect_sessions", "line_suspect_share",
                          "line_wait_ms")}
    return {n: getattr(det if sec == "detection" else out, n)
            for sec, ns in names.items() for n in ns}  # fmt: skip


def _rss(v: dict[str, Any]) -> str:
    if not v:
        return "-"
    flag = " **> 1.2**" if v.get("flag") else ""
    return f"{v['before']} / {v['peak']} / {v['after']} MB (x{v['ratio']}{flag})"


def _cpu(v: dict[str, Any]) -> str:
    if v.get("cpu_s") is None and v.get("cpu_peak_share") is None:
        return "-"
    return f"{v.get('cpu_s', '-')} s ({v.get('cpu_peak_share', '-')})"


def _rows(f: dict[str, Any]) -> list[tuple[str, str]]:
    acts = ", ".join(f"{k} {n}" for k, n in sorted(f["ordinary_actions"].items()))
    rows = [
        ("sessions / on the failed edge", f"{f['sessions']} / {f['outage_sessions']}"),
        ("line incidents (records, largest record bytes)",
         f"{len(f['line_incidents'])} ({f['line_records']}, {f['line_record_bytes_max']})"),
        ("session incidents / ordinary (expected)",
         f"{f['session_incidents']} / {f['ordinary_incidents']} ({f['ordinary_expected']})"),
        ("decisions missing / incidents without case",
         f"{len(f['decisions_missing'])} / {len(f['incidents_without_case'])}"),
        ("calls+SMS to outage-edge families", str(f["outage_families_phoned"])),
        ("outage cases / not closed within 60 s of the line's end (slowest; outcomes)",
         f"{f['outage_cases']} / {f['outage_cases_not_closed_in_60s']} "
         f"({f['outage_close_after_line_end_s_max']} s; {', '.join(f['outage_outcomes'])})"),
        ("outage incidents published before the line incident's open record",
         str(f.get("outage_incidents_before_verdict", "-"))),
        ("outage families told in the app / edge down -> notice p50 / p95",
         f"{f.get('outage_noticed', '-')} / {_p(f, 'outage_notice_s')}"),
        ("ordinary decisions by action", acts),
        ("ordinary decided to contact, not contacted (last event on the case)",
         ", ".join(f"{k} {n}" for k, n in sorted(f["ordinary_uncontacted_last_event"].items()))
         or "0"),
        ("ordinary: problem start -> decision p50 / p95", _p(f, "decision_delay_s")),
        ("ordinary: decision -> first contact p50 / p95", _p(f, "decided_to_contact_s")),
        ("**ordinary: problem start -> first contact p50 / p95 (max)** (contacted)",
         f"**{_p(f, 'problem_to_contact_s')}** ({f['problem_to_contact_s_max']}) "
         f"({f['ordinary_contacted']})"),
        ("(wall s) decision published -> first contact p50 / p95",
         _p(f, "published_to_contact_wall_s")),
        ("(wall s) of which: published -> on the case's timeline; timeline -> first contact",
         f"{_p(f, 'published_to_recorded_wall_s')}; {_p(f, 'recorded_to_contact_wall_s')}"),
        ("ordinary cases still open (they close case_reopen_ms after the family is fine)",
         str(f["open_cases"])),
    ]
    rows += [(f"RSS {k}: at the outage / peak / {f['after_s']:.0f} s after it (after/before)",
              _rss(v)) for k, v in f["rss_mb"].items()]
    rows += [(f"CPU {k}: s used from the outage to {f['after_s']:.0f} s after it "
              "(busiest 10 s, cores)", _cpu(v)) for k, v in f["rss_mb"].items()]
    m = f.get("machine") or {}
    rows.append(("machine: busy share of its cores, whole run (busiest 10 s)",
                 f"{m.get('mean', '-')} ({m.get('busiest_10s', '-')})"))
    rows.append(("sent in / whole run (wall)", f"{f['sent_s']} s / {f['total_s']} s"))
    if f.get("crashed"):
        rows.append(("**processes that died (the run is not valid)**", ", ".join(f["crashed"])))
    return rows


def _p(f: dict[str, Any], key: str) -> str:
    return f"{f.get(key + '_p50', '-')} / {f.get(key + '_p95', '-')}"


def report(f: dict[str, Any]) -> str:
    """The phase's Markdown table: the outage run, and the baseline beside it if run."""
    base = f.get("baseline")
    head = f"| outage phase (event s at {f['speed']:g}x unless said) | with the outage |"
    lines = [head + (" baseline: no outage |" if base else ""),
             "|---|---|" + ("---|" if base else "")]  # fmt: skip
    other = dict(_rows(base)) if base else {}
    for k, v in _rows(f):
        lines.append(f"| {k} | {v} |" + (f" {other.get(k, '-')} |" if base else ""))
    env: dict[str, str] = f.get("settings_env") or {}
    cfg = ", ".join(f"{k}={v}" for k, v in timing_settings(env).items())
    given = ", ".join(f"{k}={v}" for k, v in env.items())
    lines += ["", f"Settings: {cfg}; stats every {STEP_MS} ms"
              + (f"; set for this run (both runs): {given}." if given else " (the defaults).")]
    return "\n".join(lines)
