"""The heap is trimmed once the RSS has grown since the last trim, only on glibc (issue 20: the
outreach service's RSS stayed at the burst's peak)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from monitor.platform.heap_trim import GROWN_BYTES, HeapTrim, glibc_trim, rss_bytes

MB = 2**20


class FakeHeap:
    """An RSS that grows when told and shrinks by `given` when trimmed."""

    def __init__(self, rss: int, given: int) -> None:
        self.now, self.given, self.trims = rss, given, 0

    def rss(self) -> int:
        return self.now

    def trim(self) -> None:
        self.trims += 1
        self.now -= self.given


def test_trimmed_only_once_the_rss_grew_by_the_threshold_since_the_last_trim() -> None:
    heap = FakeHeap(100 * MB, given=5 * MB)
    trim = HeapTrim(rss=heap.rss, trim=heap.trim)
    assert trim.maybe() is None and heap.trims == 0  # nothing grew since it was made
    heap.now += GROWN_BYTES - 1
    assert trim.maybe() is None and heap.trims == 0
    heap.now += 1  # a burst: grown by the threshold
    assert trim.maybe() == 5 * MB and heap.trims == 1
    assert trim.maybe() is None and heap.trims == 1  # nothing grew since
    heap.now += GROWN_BYTES
    assert trim.maybe() == 5 * MB and heap.trims == 2


def test_off_glibc_nothing_is_done() -> None:
    heap = FakeHeap(100 * MB, given=5 * MB)
    trim = HeapTrim(rss=heap.rss, trim=None)
    heap.now += 10 * GROWN_BYTES
    assert trim.maybe() is None and heap.trims == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_on_this_linux_malloc_trim_gives_back_freed_heap_pages() -> None:
    trim = glibc_trim()
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except AttributeError:
        assert trim is None  # musl: no trim
        return
    assert trim is not None
    blocks = [bytearray(100_000) for _ in range(400)]  # ~40 MB of heap (below mmap's size)
    for block in blocks[:-1]:
        block[0] = 1
    grown = rss_bytes()
    del blocks[:-1]  # freed, but the heap keeps the pages under the last block
    trim()
    assert rss_bytes() < grown - 20 * MB
