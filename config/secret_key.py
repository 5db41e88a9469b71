"""Where SECRET_KEY comes from, and the keys no process may run on.

Whoever knows the key can sign session and messages cookies, so a key from a README, a compose
file or this repository is as good as none. Three cases:

- ``DJANGO_SECRET_KEY`` is set: it is used, unless it is a known placeholder or too short.
- It is not set, on the embedded default (SQLite) or with ``DJANGO_DEBUG`` on: a random key is
  made once and kept in ``DEMUR_DATA_DIR/secret_key`` (mode 0600), so sessions survive restarts.
- It is not set with a server database and ``DJANGO_DEBUG`` off (a deployment, whose web
  processes and workers may run on several machines and must share one key): refused.

A refusal is ``SecretKeyRefused``; the entry points (manage.py, wsgi, asgi, the Celery app) turn
it into one sentence on stderr and a non-zero exit (``config.startup``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "secret_key"
# The key this repository once shipped, and what people write when told "set a secret".
PUBLIC_KEYS = frozenset(
    {
        "demur-insecure-development-key-do-not-use-in-production",
        "change-me",
        "changeme",
        "change_me",
        "change-this",
        "changethis",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "your-secret-key",
        "your_secret_key",
        "django-secret-key",
        "build",
        "test",
        "password",
        "insecure",
        "development",
        "dev",
        "demur",
        "none",
        "null",
    }
)
# Parts that mark a key as a placeholder wherever they appear: Django's startproject keys
# ("django-insecure-…") are published in countless repositories.
PLACEHOLDER_PARTS = ("insecure", "change-me", "changeme", "change_me", "replace-me", "replaceme")
MIN_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 8
GENERATE_HINT = "e.g. the output of python -c 'import secrets; print(secrets.token_urlsafe(50))'"


class SecretKeyRefused(ImproperlyConfigured):
    """The process must not start: its message is the one sentence the operator reads."""


def key_weakness(key: str) -> str | None:
    """Why ``key`` is no secret (a phrase), or None when it will do."""
    normalised = key.strip().lower()
    if not normalised:
        return "is empty"
    if normalised in PUBLIC_KEYS or any(part in normalised for part in PLACEHOLDER_PARTS):
        return "is a published placeholder"
    if len(key) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_DISTINCT_CHARACTERS} different characters"
    return None


def secret_key(
    *,
    environment_key: str | None,
    debug: bool,
    server_database: bool,
    required: bool,
    data_dir: Path,
) -> str:
    """The key this process runs on, or SecretKeyRefused with the sentence saying what to set."""
    if environment_key is not None:
        weakness = key_weakness(environment_key)
        if weakness is not None:
            raise SecretKeyRefused(
                f"DJANGO_SECRET_KEY {weakness}: set it to a long random string ({GENERATE_HINT})."
            )
        return environment_key
    if not debug and (server_database or required):
        why = "with a database server" if server_database else "with DEMUR_REQUIRE_SECRET_KEY=1"
        raise SecretKeyRefused(
            "Set DJANGO_SECRET_KEY to a long random string, the same for every web process and "
            f"worker ({GENERATE_HINT}): {why} and DJANGO_DEBUG off there is no key to fall "
            "back on."
        )
    return key_from_file(data_dir / KEY_FILE_NAME)


def key_from_file(path: Path) -> str:
    """The key kept in ``path``, made on first use. Several processes may start at once (the
    web server's workers, the Celery worker): the file appears whole or not at all (written
    aside, then hard-linked into place, which fails if another process got there first)."""
    existing = read_key(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as draft_file:
            draft_file.write(secrets.token_urlsafe(50) + "\n")
        # Fails if another process made it first: everybody then uses that one.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        Path(draft).unlink()
    key = read_key(path)
    if key is None:
        raise SecretKeyRefused(
            f"The secret key file {path} is empty: delete it, or set DJANGO_SECRET_KEY."
        )
    return key


def read_key(path: Path) -> str | None:
    """The key in ``path`` (None if there is no such file); a weak one is refused like a weak
    DJANGO_SECRET_KEY."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SecretKeyRefused(
            f"The secret key file {path} cannot be read ({error.strerror}): "
            "fix its permissions or set DJANGO_SECRET_KEY."
        ) from None
    weakness = key_weakness(key)
    if key and weakness is not None:
        raise SecretKeyRefused(
            f"The key in {path} {weakness}: delete the file (a new one is made) "
            "or set DJANGO_SECRET_KEY."
        )
    return key or None
