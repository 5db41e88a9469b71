"""Terminal progress for `--wait`: a tqdm bar fed from row counts until the run finishes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from django.core.management.base import CommandError
from tqdm import tqdm

from inference.models import FINISHED_STATUSES

POLL_SECONDS = 0.5


def settings_from_json(raw: str) -> dict[str, Any]:
    """The --settings option of model_spec and judge_spec: a JSON object, or one sentence."""
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError as error:
        raise CommandError(f"--settings is not valid JSON: {error.msg}.") from None
    if not isinstance(settings, dict):
        raise CommandError("--settings must be a JSON object.")
    return settings


def wait_with_progress(
    run: Any, *, count_done: Callable[[], int], description: str, out: TextIO
) -> str:
    """Poll a GenerationRun or JudgeRun (anything with status and total) until it finishes,
    drawing a bar of ``count_done()`` out of ``run.total``; returns the final status."""
    with tqdm(total=run.total, desc=description, unit="item", file=out, dynamic_ncols=True) as bar:
        while True:
            run.refresh_from_db(fields=["status", "error", "total"])
            bar.update(count_done() - bar.n)
            bar.set_postfix_str(run.status)
            if run.status in FINISHED_STATUSES:
                return str(run.status)
            time.sleep(POLL_SECONDS)
