"""The shared LRU cache helper: order, bound, making once, threads."""

from __future__ import annotations

import threading

import pytest

from facedemo.cache import LruCache


def test_keeps_the_most_recently_used_values():
    cache: LruCache[str, int] = LruCache(max_size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now more recent than "b"
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2
    cache.put("a", 10)  # replaced, and the most recent again
    cache.put("d", 4)
    assert (cache.get("a"), cache.get("c"), cache.get("d")) == (10, None, 4)


def test_get_or_make_makes_a_missing_value_once():
    cache: LruCache[int, str] = LruCache(max_size=4)
    made = []

    def make() -> str:
        made.append(1)
        return "value"

    assert cache.get_or_make(7, make) == "value"
    assert cache.get_or_make(7, make) == "value"
    assert len(made) == 1
    cache.clear()
    assert len(cache) == 0 and cache.get(7) is None
    assert cache.get_or_make(7, make) == "value" and len(made) == 2


def test_bad_sizes_and_none_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        LruCache(0)
    with pytest.raises(ValueError, match="None"):
        LruCache(1).put("a", None)


def test_threads_share_it_without_passing_the_bound():
    cache: LruCache[int, int] = LruCache(max_size=8)
    errors = []

    def work(offset: int) -> None:
        try:
            for key in range(offset, offset + 500):
                assert cache.get_or_make(key % 20, lambda k=key: k % 20 + 100) == key % 20 + 100
                assert len(cache) <= 8
        except AssertionError as error:  # pragma: no cover - shown by the assert below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(cache) == 8
