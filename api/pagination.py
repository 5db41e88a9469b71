"""Pages of the API lists: numbered pages for the short lists (benchmarks, runs, judges,
campaigns), cursors for the long ones (prompts, responses, verdicts, labels, gold labels),
where an OFFSET deep into a million rows would be slow and rows added meanwhile would shift
numbered pages."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request

from accounts.numbers import whole_number


class SmallListPagination(PageNumberPagination):
    page_size = 100

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        # DRF reads an empty ?page= as page 1; it is no page number.
        if request.query_params.get(self.page_query_param) == "":
            raise NotFound(self.invalid_page_message)
        return super().get_page_number(request, paginator)


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        # DRF quietly falls back to the default for a page_size it cannot use; say so instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = whole_number(raw, high=self.max_page_size)
        if size is None:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"page_size must be a whole number from 1 to {self.max_page_size}, "
                        f"not {raw!r}."
                    ]
                }
            )
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size}
        return parameters

    def decode_cursor(self, request: Request) -> Any:
        cursor = super().decode_cursor(request)
        # DRF checks a cursor's encoding but not its position; one that is not an id would
        # reach the query and fail there.
        position = cursor.position if cursor is not None else None
        if position is not None and not _is_id(str(position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _is_id(position: str) -> bool:
    return whole_number(position, low=0) is not None
