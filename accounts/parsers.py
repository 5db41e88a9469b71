"""The API's JSON parser: DRF's, with a nesting limit and the storable-text check, so that a
hostile body is a 400 naming the field instead of a RecursionError or a database error."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from accounts.validation import UnstorableInput, json_loads


class StorableJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json_loads(text, what="the request body")
        except UnstorableInput as error:
            raise ParseError(str(error)) from None
        except (ValueError, UnicodeDecodeError) as error:
            # json.JSONDecodeError is a ValueError; DRF's own parser words it the same way.
            raise ParseError(f"JSON parse error - {error}") from None
