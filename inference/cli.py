"""Terminal progress for `--wait`: a tqdm bar fed from row counts until the run finishes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from django.core.management.base import CommandError
from tqdm import tqdm

from accounts.validation import UnstorableInput, json_loads
from inference.models import FINISHED_STATUSES

POLL_SECONDS = 0.5


# The JSON settings option of model_spec and judge_spec. Not --settings: every manage.py command
# already has Django's --settings (the settings module), and argparse refuses a second one.
CONFIG_OPTION = "--config"


def settings_from_json(raw: str) -> dict[str, Any]:
    """The --config option of model_spec and judge_spec: a JSON object, or one sentence."""
    try:
        settings = json_loads(raw, what=CONFIG_OPTION)  # nesting and NUL checked: issue 11
    except json.JSONDecodeError as error:
        raise CommandError(f"{CONFIG_OPTION} is not valid JSON: {error.msg}.") from None
    except UnstorableInput as error:
        raise CommandError(str(error)) from None
    if not isinstance(settings, dict):
        raise CommandError(f"{CONFIG_OPTION} must be a JSON object.")
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
