"""`python -m bench.outreach_batch_bench` at a small size on SQLite: both modes close every case."""

from __future__ import annotations

from bench import outreach_batch_bench


async def test_both_modes_close_every_family_case() -> None:
    for batched in (True, False):
        found = await outreach_batch_bench.one_round("sqlite", 30, 500, batched)
        assert found["records"] == 3 * 30 + 1 and found["cases_per_s"] > 0
        assert found["mode"] == ("batched" if batched else "unbatched")
