"""Many new rows at once, for the importers: PostgreSQL's COPY where the database is PostgreSQL,
``bulk_create`` elsewhere (SQLite).

COPY (through psycopg 3) sends the rows as one stream: no model instance per row, no INSERT
statement with tens of thousands of parameters to build, and the server parses rows faster than
it binds parameters. For 10,000 responses it takes a fraction of bulk_create's time
(bench/RESULTS.md, "Uploads"). No ids come back; callers that need them read them afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

# Rows per bulk_create statement off PostgreSQL (SQLite's parameter limit caps it further).
BULK_CREATE_BATCH = 2000


def rows_insert(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows``, each a tuple of values in the order of ``columns`` (field attnames:
    ``benchmark_id`` for a foreign key). Every other field takes its default, computed once for
    all the rows (``auto_now_add``: now), or on PostgreSQL its database default where it has
    one. Runs in the caller's transaction."""
    fields = [model._meta.get_field(name) for name in columns]
    given = {field.attname for field in fields}  # type: ignore[union-attr]
    others = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in given
    ]
    defaults = {field.attname: default_value(field) for field in others}
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        names = [field.attname for field in fields]  # type: ignore[union-attr]
        model._default_manager.bulk_create(
            (model(**dict(zip(names, row, strict=True)), **defaults) for row in rows),
            batch_size=BULK_CREATE_BATCH,
        )
        return
    # A column with a database default is left to the database: COPY sends nothing for it.
    others = [field for field in others if not field.has_db_default()]
    defaults = {field.attname: defaults[field.attname] for field in others}
    copy_rows(model, [*fields, *others], rows, defaults, connection)


def copy_rows(
    model: type[models.Model],
    fields: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    defaults: dict[str, Any],
    connection: Any,
) -> None:
    from psycopg import sql
    from psycopg.types.json import Jsonb

    # Only the given values need wrapping: the defaults are adapted once by their field.
    given = [field for field in fields if field.attname not in defaults]
    json_columns = [
        index for index, field in enumerate(given) if isinstance(field, models.JSONField)
    ]
    constants = tuple(
        field.get_db_prep_save(defaults[field.attname], connection)
        for field in fields
        if field.attname in defaults
    )
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(field.column) for field in fields),
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            if json_columns:
                row = list(row)
                for index in json_columns:
                    row[index] = Jsonb(row[index])
            copy.write_row((*row, *constants))


def default_value(field: Any) -> Any:
    """What a new model instance holds in the field when it is saved: Django's default (a text
    field without one: ""), or now for auto_now(_add)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()
