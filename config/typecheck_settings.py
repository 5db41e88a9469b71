"""The settings as mypy's Django plugin (django-stubs) loads them: config.settings itself.

The plugin reads the app list and the models; it serves nothing, so without a key of its own
(a shell that exports a server DATABASE_URL, as CI's does) it gets a throw-away random one
instead of the refusal that stops the real programs (config/secret_key.py)."""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

from config.settings import *  # noqa: F403
