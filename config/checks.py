"""`manage.py check --deploy`: the secret key. The settings already refuse a known key at start;
this catches one put in place another way (a settings override), and a key file that others
on the machine can read."""

from __future__ import annotations

import stat
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from config.secret_key import KEY_FILE_NAME, key_weakness


@register(Tags.security, deploy=True)
def secret_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    weakness = key_weakness(str(settings.SECRET_KEY))
    if weakness is not None:
        problems.append(
            Error(
                f"SECRET_KEY {weakness}: anyone can sign sessions and messages with it.",
                hint="Set DJANGO_SECRET_KEY to a long random string.",
                id="demur.E001",
            )
        )
    key_file = settings.DATA_DIR / KEY_FILE_NAME
    if key_file.exists() and key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append(
            Warning(
                f"The secret key file {key_file} can be read by other users of this machine.",
                hint=f"chmod 600 {key_file}",
                id="demur.W002",
            )
        )
    return problems
