"""A pytest plugin (``-p tests.secret_key_plugin`` in pyproject.toml), loaded before Django's
settings: the test run and every program it starts get a random DJANGO_SECRET_KEY of their own.

With a server database (CI's PostgreSQL) and DJANGO_DEBUG off, the settings refuse to load
without one; a test that checks that refusal removes the variable from its program's
environment.
"""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
