"""The Redis cache with one client per connection pool (accounts/redis_cache.py): what Django's
own Redis cache does, with the same client on every call, from every thread."""

from __future__ import annotations

import os
import threading

import pytest

from accounts.redis_cache import RedisCache

pytestmark = pytest.mark.redis


def cache() -> RedisCache:
    return RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "redis-cache-test"})


def test_it_stores_reads_counts_and_deletes_as_a_cache_does() -> None:
    shared = cache()
    shared.delete_many(["a", "b", "c"])
    assert shared.add("a", {"n": 1}) and not shared.add("a", {"n": 2})
    shared.set_many({"b": [1, 2], "c": 3})
    assert shared.get_many(["a", "b", "c", "d"]) == {"a": {"n": 1}, "b": [1, 2], "c": 3}
    assert shared.incr("c", 4) == 7
    shared.delete("a")
    assert shared.get("a", "gone") == "gone"
    shared.delete_many(["b", "c"])


def test_every_call_and_thread_shares_one_client_per_pool() -> None:
    shared = cache()
    clients = []

    def use() -> None:
        shared.set("k", 1)
        clients.append(shared._cache.get_client(write=True))

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == 4 and len({id(client) for client in clients}) == 1
    assert shared.get("k") == 1
    shared.delete("k")
