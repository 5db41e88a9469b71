"""What generation and judging tasks share: chunks of ids, retries, failing a run readably."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from inference.backends.base import BackendConfigError

log = logging.getLogger(__name__)

# Prompts (or responses) per task: small enough that a killed worker loses little, large enough
# to fill a GPU batch.
CHUNK_SIZE = 32
MAX_RETRIES = 3


def chunked(ids: Sequence[int], size: int = CHUNK_SIZE) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def execute_chunk(task: Any, *, work: Callable[[], None], fail: Callable[[str], None]) -> None:
    """Run one chunk; retry it with backoff on unexpected errors, and when every retry is spent
    (or the model spec itself is wrong) mark the run failed with a sentence a person can act on.
    """
    try:
        work()
    except BackendConfigError as error:
        fail(str(error))
    except Exception as error:
        retries = task.request.retries
        if retries >= MAX_RETRIES:
            log.exception("Chunk failed after %d retries", retries)
            fail(f"A chunk failed {retries + 1} times; last error: {type(error).__name__}: {error}")
            return
        raise task.retry(exc=error, countdown=2**retries, max_retries=MAX_RETRIES) from error
