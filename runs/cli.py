"""Terminal progress for `--wait`: a tqdm bar fed from row counts until the run finishes."""

from __future__ import annotations

import time
from typing import TextIO

from tqdm import tqdm

from runs.models import FINISHED_STATUSES, Run

POLL_SECONDS = 0.5


def wait_with_progress(run: Run, *, description: str, out: TextIO) -> str:
    """Poll a run until it finishes, drawing a bar of its items done out of ``run.total``;
    returns the final status."""
    with tqdm(total=run.total, desc=description, unit="item", file=out, dynamic_ncols=True) as bar:
        while True:
            run.refresh_from_db(fields=["status", "error", "total"])
            bar.update(run.items_done() - bar.n)
            bar.set_postfix_str(run.status)
            if run.status in FINISHED_STATUSES:
                return str(run.status)
            time.sleep(POLL_SECONDS)
