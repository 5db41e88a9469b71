"""Query-string filters of the API lists: each one both reads its value from a request and
describes itself for the OpenAPI schema, so the two never disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts.numbers import MAX_ID, whole_number

# PostgreSQL text cannot hold NUL, so no stored value has one; refusing it early keeps the
# database from failing on the query.
NO_NUL = "^[^\\x00]*$"


@dataclass(frozen=True)
class Filter:
    name: str
    description: str
    kind: str = "text"  # "text", "id" or "choice"
    choices: Sequence[str] = ()
    argument: str = ""  # the selector's keyword, when it differs from ``name``

    def parameter(self) -> OpenApiParameter:
        schema: dict[str, Any]
        if self.kind == "id":
            schema = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
        elif self.kind == "choice":
            schema = {"type": "string", "enum": list(self.choices)}
        else:
            schema = {"type": "string", "pattern": NO_NUL}
        return OpenApiParameter(self.name, type=schema, description=self.description)

    def read(self, request: Request) -> int | str | None:
        raw = request.query_params.get(self.name)
        if raw is None:
            return None
        if self.kind == "id":
            number = whole_number(raw)
            if number is None:
                self.refuse(f"{self.name} must be an id (a positive whole number), not {raw!r}.")
            return number
        if self.kind == "choice" and raw not in self.choices:
            self.refuse(f"{self.name} must be one of {', '.join(self.choices)}, not {raw!r}.")
        if "\x00" in raw:
            self.refuse(f"{self.name} must not contain NUL characters.")
        return raw

    def refuse(self, message: str) -> None:
        raise ValidationError({self.name: [message]})


def read_filters(filters: Sequence[Filter], request: Request) -> dict[str, Any]:
    """The selector's keyword arguments for the filters given in the query string."""
    values = {f.argument or f.name: f.read(request) for f in filters}
    return {key: value for key, value in values.items() if value is not None}
