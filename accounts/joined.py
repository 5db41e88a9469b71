"""Model instances from one joined row, for the label POST's reads (issue 17).

The ORM compiles a query's SQL on every call: for the labeling screen (five joined models) that
cost about a millisecond of a ten-millisecond key press, more than the database spent on it.
Here the SQL is written once per process and database, from the models' own field lists, and each
value is converted by the ORM's own converters (JSON text, SQLite's integers for booleans) before
``Model.from_db`` makes the instance, as a queryset would. Fields not read stay deferred, as with
``only()``: reading one later costs a query (the statement-count tests catch that).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model

from accounts.prepared import prepared_cursor

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Part:
    """A table of the query: its alias, its model, the fields read (attnames; None: all) and
    how it joins the parts before it ("" for the first, which is the FROM)."""

    alias: str
    model: type[Model]
    fields: tuple[str, ...] | None
    join: str = ""

    @functools.cached_property
    def attnames(self) -> list[str]:
        """The fields read, in the model's own order (as ``Model.from_db`` takes them); the
        primary key first, which tells a LEFT JOIN that found nothing."""
        concrete = self.model._meta.concrete_fields
        return [f.attname for f in concrete if self.fields is None or f.attname in self.fields]

    def read(self) -> list[Any]:
        """The model fields read, in ``attnames`` order."""
        concrete = {f.attname: f for f in self.model._meta.concrete_fields}
        return [concrete[name] for name in self.attnames]

    def columns(self) -> list[str]:
        return [f"{self.alias}.{field.column}" for field in self.read()]

    def converters(self) -> list[list[tuple[Converter, Any]]]:
        """Per field read, the ORM's converters for this database and their column."""
        found = []
        for field in self.read():
            column = field.get_col(self.alias)
            both = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            found.append([(converter, column) for converter in both])
        return found


@dataclass(frozen=True)
class Joined:
    """A query of joined parts: ``where`` filters it with %s parameters."""

    parts: tuple[Part, ...]
    where: str

    def fetch_one(self, parameters: Sequence[Any]) -> dict[str, Any] | None:
        """The first row's instances by alias (None for a LEFT JOIN that found nothing); None
        when there is no row."""
        sql, converters = _compiled(self, connection.vendor)
        with prepared_cursor() as cursor:
            cursor.execute(sql, parameters)
            row = cursor.fetchone()
        if row is None:
            return None
        values = [_converted(value, each) for value, each in zip(row, converters, strict=True)]
        found: dict[str, Any] = {}
        start = 0
        for part in self.parts:
            own = values[start : start + len(part.attnames)]
            start += len(own)
            joined = own[0] is not None
            found[part.alias] = (
                part.model.from_db(connection.alias, part.attnames, own) if joined else None
            )
        return found


@functools.cache
def _compiled(query: Joined, vendor: str) -> tuple[str, list[list[tuple[Converter, Any]]]]:
    """The SQL and each column's converters, once per query and database vendor."""
    columns = ", ".join(column for part in query.parts for column in part.columns())
    first, *rest = query.parts
    joins = " ".join(part.join for part in rest)
    table = first.model._meta.db_table
    sql = f"SELECT {columns} FROM {table} AS {first.alias} {joins} WHERE {query.where}"
    return sql, [each for part in query.parts for each in part.converters()]


def _converted(value: Any, converters: Sequence[tuple[Converter, Any]]) -> Any:
    for converter, column in converters:
        value = converter(value, column, connection)
    return value
