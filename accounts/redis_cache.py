"""Django's Redis cache, its redis-py client made once per connection pool (issue 17).

Django's ``RedisCacheClient`` makes a new ``redis.Redis`` for every cache call, and redis-py's
client builds its table of reply handlers each time: about 0.1 ms, as long as the call's own
round trip, on every request that reads its session. A client only sends commands through its
pool, so one client per pool serves every call, from every thread, as redis-py documents.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes, left out of django-stubs.
        django_client: Any = self
        pool = django_client._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = django_client._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
