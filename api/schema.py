"""Error responses in the OpenAPI schema. drf-spectacular documents only the successful
answer; clients (and schemathesis, which checks every status code against the schema) also
need the 400, 401, 403 and 404 that DRF sends, and their bodies."""

from __future__ import annotations

from typing import Any

# Query parameters whose bad values give a 404 (invalid page or cursor), not a 400.
PAGINATION_PARAMETERS = frozenset({"page", "cursor"})

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ErrorDetail": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationErrors": {
        "type": "object",
        "description": "Messages by field name; non_field_errors for the request as a whole.",
        "additionalProperties": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
        },
    },
}

ERRORS: dict[str, tuple[str, str]] = {
    "400": ("ValidationErrors", "A filter or a field of the request is not valid."),
    "401": ("ErrorDetail", "No credentials, or a token that is not valid."),
    "403": ("ErrorDetail", "Annotators (and anyone else who is not a researcher) are refused."),
    "404": ("ErrorDetail", "No such object, page or cursor."),
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A POSTPROCESSING_HOOKS entry: document each operation's error responses."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            for code in _error_codes(method, operation):
                name, description = ERRORS[code]
                response = operation["responses"].setdefault(code, {"description": description})
                response.setdefault(
                    "content",
                    {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                )
    return result


def _error_codes(method: str, operation: dict[str, Any]) -> list[str]:
    codes = [code for code in ("400", "403") if code in operation["responses"]]
    if any(requirement for requirement in operation.get("security", [])):
        codes += ["401", "403"]
    if method == "get":
        codes.append("404")
    filters = [
        p
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p["name"] not in PAGINATION_PARAMETERS
    ]
    if method in ("post", "put", "patch") or filters:
        codes.append("400")
    return sorted(set(codes))
