"""Statements prepared on PostgreSQL (accounts/prepared.py): planned once per connection, and
still in Django's query log."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.prepared import prepared_cursor

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

STATEMENT = "SELECT %s::int + 1 AS prepared_probe"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_once_and_answers_as_before() -> None:
    answers = []
    for value in (1, 2, 3):
        with prepared_cursor() as cursor:
            cursor.execute(STATEMENT, [value])
            answers.append(cursor.fetchone()[0])
    assert answers == [2, 3, 4]
    assert [s for s in prepared_statements() if "prepared_probe" in s] == [
        "SELECT $1::int + 1 AS prepared_probe"
    ]


def test_a_prepared_statement_shows_in_the_query_log() -> None:
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute(STATEMENT, [41])
        assert cursor.fetchone()[0] == 42
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT $1::int + 1 AS prepared_probe"]


def test_django_cursors_stay_unprepared() -> None:
    with connection.cursor() as cursor:
        for _ in range(10):
            cursor.execute("SELECT %s::int AS unprepared_probe", [1])
    assert not [s for s in prepared_statements() if "unprepared_probe" in s]
