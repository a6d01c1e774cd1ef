"""The technician's side of a recurring family case: the diagnosis and the checklist."""

from __future__ import annotations

from outreach.scripts.recurring import diagnosis, technician_steps

T = 1_767_258_000_000  # 2026-01-01 09:00:00 UTC
S = 1_000


def test_the_diagnosis_names_the_side_the_count_the_minutes_and_the_worst_intervals() -> None:
    episodes = [(T, T + 30 * S), (T + 120 * S, T + 250 * S), (T + 240 * S, T + 260 * S),
                (T + 400 * S, None)]  # the last one still going on  # fmt: skip
    text = diagnosis(episodes, now=T + 460 * S)
    assert text.startswith("recurring on the family's side: line healthy, 4 episodes, ")
    assert ", 3.83 minutes lost, " in text  # 30 + 140 (overlap once) + 60 s still going on
    assert text.endswith("worst intervals 09:02:00-09:04:10 UTC (2m10s), "
                         "09:06:40-09:07:40 UTC (1m00s), 09:00:00-09:00:30 UTC (30s)")
    covered = diagnosis(episodes[:1], now=T, line_healthy=False, lesson_end=T + 10 * S)
    assert covered.startswith("recurring on the family's side, line troubled too, 1 episode, ")
    assert ", 0.17 minutes lost, " in covered  # capped at the lesson's end


def test_the_checklist_follows_the_device_and_the_connection() -> None:
    tablet = technician_steps("ipad", "wifi")
    assert tablet[0] == "Ask whether the tablet is on Wi-Fi or on cellular data (telemetry: wifi)."
    assert "closer to the Wi-Fi router" in tablet[1]
    assert "other apps on the tablet" in tablet[2] and tablet[3].startswith("Switch device")
    phone = technician_steps("phone", "cellular")
    assert "mobile signal" in phone[1] and not any("router" in s for s in phone)
    pc = technician_steps("pc", "wired")
    assert "network cable" in pc[1] and "browser tabs" in pc[2]
    unknown = technician_steps(None, None)
    assert "computer" in unknown[0] and "(telemetry: not known)" in unknown[0]
