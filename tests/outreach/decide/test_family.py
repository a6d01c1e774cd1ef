"""The directory's model: quiet hours, what the outreach stages need, log-safe summaries."""

from __future__ import annotations

from outreach.decide.decision import FamilyPrefs
from outreach.decide.directory_rows import validate_text
from outreach.decide.family import describe, family_prefs, parse_quiet_hours
from tests.support.directory_files import GOOD, HEADER


def test_quiet_hours_wrap_midnight_in_the_guardians_zone() -> None:
    quiet = parse_quiet_hours("21:00-08:00")
    assert quiet is not None and str(quiet) == "21:00-08:00"


def test_family_prefs_and_log_safe_summary() -> None:
    good, errors, _ = validate_text(HEADER + GOOD, ".csv")
    assert errors == []
    ming = next(s for s in good if s.student_id == "stu-1")
    assert family_prefs(ming) == FamilyPrefs(
        time_zone="Asia/Shanghai",
        quiet_start="21:00",
        quiet_end="08:00",
        do_not_call=False,
        preferred_channel="call",
    )
    summary = describe(ming)
    assert "+8613812345678" not in str(summary) and "+86*******5678" in str(summary)
