"""gunicorn reads this file from the directory it starts in (the repository, the image's /app).

The settings are checked once in the master, before any worker starts: a refused secret key is
then one sentence and exit status 1, instead of every worker failing on its own."""

from __future__ import annotations

import os
from typing import Any

from config.startup import settings_or_exit


def on_starting(server: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    settings_or_exit()
