"""How far a running import got. An import writes in one transaction, which no other
connection sees until it commits (and on SQLite it holds the one write lock), so progress
cannot be a row the page reads; it goes through the cache every process shares (Redis, or files
under DEMUR_DATA_DIR) instead, and the row gets the final count when the import ends."""

from __future__ import annotations

import time

from django.core.cache import cache

# Longer than any import; a key left by a killed worker goes away by itself.
KEY_SECONDS = 24 * 3600
# Cache writes at most this often, and always the last one.
EVERY_SECONDS = 0.2


def progress_key(upload_id: int) -> str:
    return f"upload-progress:{upload_id}"


def progress_read(upload_id: int) -> tuple[int, int | None]:
    """(rows done, rows in the file, or None while the file is being read)."""
    value = cache.get(progress_key(upload_id))
    if not value:
        return 0, None
    done, total = value
    return int(done), int(total)


def progress_forget(upload_id: int) -> None:
    cache.delete(progress_key(upload_id))


class ProgressReporter:
    """The ``progress(done, total)`` an importer calls."""

    def __init__(self, upload_id: int) -> None:
        self.key = progress_key(upload_id)
        self.last_sent = float("-inf")
        self.done = 0
        self.total: int | None = None

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if done >= total or now - self.last_sent >= EVERY_SECONDS:
            cache.set(self.key, (done, total), KEY_SECONDS)
            self.last_sent = now
