"""Garbage collection tuned for batches: a batch's records die before any collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from monitor.platform.gc_tuning import tune_for_batches
from monitor.platform.kafka_settings import KafkaSettings


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_the_young_threshold_is_raised_and_startup_is_frozen() -> None:
    gc.unfreeze()
    assert tune_for_batches(40_000)[0] == 40_000
    assert gc.get_freeze_count() > 1000, "what startup built is out of every collection"


def test_the_default_lets_a_worker_batch_die_without_a_collection() -> None:
    tune_for_batches()
    gc.collect()
    start = gc.get_stats()[0]["collections"]
    size = KafkaSettings().max_batch
    for _ in range(10):  # worker batches: a record object and its headers list per record
        batch = [[{"offset": i}, (i, b"value")] for i in range(size)]
        del batch
    assert gc.get_stats()[0]["collections"] == start


def test_zero_keeps_pythons_own_collector() -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    assert tune_for_batches(0) == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_a_negative_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="young_threshold"):
        tune_for_batches(-1)
