from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import celery_broker_settings, database_settings, env_bool


def test_without_a_database_url_it_uses_sqlite_in_wal_mode() -> None:
    database = database_settings(None)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]).name == "db.sqlite3"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_a_postgres_url_selects_psycopg() -> None:
    database = database_settings("postgres://demur:secret@db.example:5433/demur")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.example", 5433, "demur")


def test_without_redis_the_broker_is_the_filesystem_and_with_it_redis() -> None:
    embedded = celery_broker_settings("")
    assert embedded["CELERY_BROKER_URL"] == "filesystem://"
    options = embedded["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["data_folder_in"] == options["data_folder_out"]
    assert celery_broker_settings("redis://h:6379/1")["CELERY_BROKER_URL"] == "redis://h:6379/1"


def test_a_boolean_variable_with_a_typo_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG must be true or false"):
        env_bool("DJANGO_DEBUG", False)


def test_postgres_prepares_the_hot_statements_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgres://demur:secret@db.example:5433/demur"
    assert database_settings(url)["OPTIONS"]["prepare_threshold"] == 5
    monkeypatch.setenv("DEMUR_PREPARED_STATEMENTS", "false")
    assert "prepare_threshold" not in database_settings(url).get("OPTIONS", {})
