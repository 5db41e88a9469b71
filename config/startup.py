"""What every entry point (manage.py, wsgi, asgi, the Celery app) does before anything else:
load the settings, and on a refused secret key say the one sentence and stop."""

from __future__ import annotations

import sys

from config.secret_key import SecretKeyRefused

# gunicorn stops (rather than starting worker after worker) when a worker exits with its
# APP_LOAD_ERROR status, 4; for everything else 1 means "did not start".
EXIT_STATUS = 1
GUNICORN_APP_LOAD_ERROR = 4


def settings_or_exit(status: int = EXIT_STATUS) -> None:
    from django.conf import settings

    try:
        settings.SECRET_KEY  # noqa: B018 - reading one setting imports the settings module
    except SecretKeyRefused as refused:
        print(f"Demur refuses to start: {refused}", file=sys.stderr, flush=True)
        raise SystemExit(status) from None
