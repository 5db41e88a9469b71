"""A real Celery worker process against the test database and the Redis broker."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from django.db import connection

from tests.processes import Background


def worker_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The worker sees the database the test writes to (pytest-django's test database)."""
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DEMUR_DATA_DIR=str(tmp_path),
        DEMUR_MODEL_CACHE=str(tmp_path / "model-cache"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def purge_broker() -> None:
    """Messages of an earlier test must not reach this one's worker."""
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


@contextmanager
def celery_worker(env: dict[str, str], name: str = "test") -> Iterator[Background]:
    command = [
        str(Path(sys.executable).parent / "celery"), "-A", "config", "worker",
        "--queues", "default,gpu", "--pool", "solo", "--hostname", f"{name}@%h",
        "--without-mingle", "--without-gossip", "--loglevel", "INFO",
    ]  # fmt: skip
    worker = Background(command, env=env)
    try:
        worker.wait_for(lambda: " ready." in worker.text, timeout=60, what="worker ready")
        yield worker
    finally:
        worker.kill()
