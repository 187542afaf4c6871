"""core.lru: the one cache helper evicts the least recently USED value, not the oldest stored."""

from __future__ import annotations

from core.lru import LRU


def test_a_read_keeps_a_value_and_the_least_recently_used_one_goes() -> None:
    cache: LRU[str] = LRU(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # "a" is now used more recently than "b"
    cache.put("c", "C")
    assert cache.get("b") is None
    assert cache.get("a") == "A" and cache.get("c") == "C"
    assert len(cache) == 2


def test_storing_again_refreshes_and_replaces() -> None:
    cache: LRU[int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)
    cache.put("c", 4)
    assert cache.get("b") is None
    assert cache.get("a") == 3
    assert cache.values() == [4, 3]


def test_put_returns_the_value_and_clear_empties() -> None:
    cache: LRU[list] = LRU(1)
    value = [1]
    assert cache.put("k", value) is value
    cache.clear()
    assert cache.get("k") is None and len(cache) == 0
