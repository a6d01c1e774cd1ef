"""The replay progress bar: redraws in place and leaves no half bar before the summary."""

from __future__ import annotations

import io

from monitor.platform.progress import Progress


def test_the_bar_is_cleared_on_close_so_the_summary_starts_clean() -> None:
    out = io.StringIO()
    bar = Progress(1000, stream=out, enabled=True, every_s=0.0)
    bar.update(400, 40)
    bar.update(1000, 100)
    bar.close()
    out.write("summary\n")
    text = out.getvalue()
    last_frame = text.rsplit("\r", 1)[-1]
    assert last_frame == "summary\n"
    assert "40.0%" in text and "100.0%" in text


def test_a_shorter_redraw_overwrites_the_longer_one() -> None:
    out = io.StringIO()
    bar = Progress(None, stream=out, enabled=True, every_s=0.0)
    bar.update(0, 1_000_000)
    bar.update(0, 5)
    frames = out.getvalue().split("\r")[1:]
    assert len(frames[1]) >= len(frames[0])


def test_nothing_is_written_when_disabled() -> None:
    out = io.StringIO()
    bar = Progress(10, stream=out, enabled=False, every_s=0.0)
    bar.update(5, 5)
    bar.close()
    assert out.getvalue() == ""
