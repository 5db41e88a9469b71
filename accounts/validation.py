"""Text and JSON that can be stored: one set of checks for every way data comes in (form fields,
API bodies, query strings, imported files, command arguments).

PostgreSQL's text and jsonb cannot hold a NUL character, and UTF-8 cannot encode a lone
surrogate (JSON's ``"\\ud800"``); either reaches the database as an error, a 500 for a page.
Python's JSON parser recurses once per nesting level, so a deeply nested body raises
RecursionError. Each is refused here, before anything is written, with one sentence naming the
field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

# Deeper than any JSON Demur reads (a custom label scheme is three levels), far below Python's
# recursion limit.
MAX_JSON_DEPTH = 32

# A JSON string literal, escapes included; brackets inside one do not nest anything.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class UnstorableInput(ValueError):
    """Input that cannot be read or stored; the message is one sentence naming the field."""


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (such as \\ud800), which is not valid Unicode"
    return None


def check_text(value: str, field: str) -> None:
    """Raise UnstorableInput naming ``field`` when ``value`` cannot be stored as text."""
    problem = text_problem(value)
    if problem:
        raise UnstorableInput(f"The field '{field}' {problem}.")


def check_tree(value: Any, field: str) -> None:
    """Every string (keys included) in a parsed JSON value can be stored; the error names the
    path to the bad one (``custom_scheme.choices.0.label``)."""
    for path, text in strings_in(value, field):
        check_text(text, path)


def strings_in(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON value with its path; keys too, as ``path (a key)``."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            yield (f"a key in {path}" if path else "a field name"), key_text
            yield from strings_in(item, f"{path}.{key_text}" if path else key_text)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}.{index}" if path else str(index))


def json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest, counted without recursion."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_loads(text: str, *, what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse ``text`` as JSON that can be stored. ``what`` names it in the sentence (``the
    request body``, ``line 3``). Raises UnstorableInput; json.JSONDecodeError passes through so
    callers can give the column."""
    if json_depth(text) > max_depth:
        raise UnstorableInput(f"{_capital(what)} is JSON nested deeper than {max_depth} levels.")
    value = json.loads(text, parse_constant=_refuse_constant)
    check_tree(value, "")
    return value


def _refuse_constant(name: str) -> Any:
    # Python reads NaN and Infinity, which JSON does not have and PostgreSQL's jsonb refuses.
    raise UnstorableInput(f"{name} is not a JSON value; send a number or null.")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def argument_problem(value: str) -> str | None:
    """Why a command-line argument cannot be used as text, or None when it can. The shell hands
    Python bytes, and bytes that are not UTF-8 arrive as lone surrogates (PEP 383), so that
    case names the bytes, not the surrogates the person never typed."""
    problem = text_problem(value)
    if problem and "\x00" not in value:
        return "holds bytes that are not UTF-8 text"
    return problem


class StorableArgumentsCommand(BaseCommand):
    """A management command whose text arguments are checked before it does anything: a NUL or
    bytes that are not UTF-8 in any of them is one sentence naming the argument (exit status 1),
    not a traceback from the database or the terminal halfway through. Arguments that argparse
    turned into paths (``type=Path``) are left to the file system, which takes any bytes."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # The names a person typed (--model, NAME) for the options' dest keys (model, name).
        self._argument_names = {
            action.dest: "/".join(action.option_strings) or (action.metavar or action.dest).upper()
            for action in parser._actions
            if isinstance(action.metavar, str | None)
        }
        return parser

    def execute(self, *args: Any, **options: Any) -> str | None:
        named = getattr(self, "_argument_names", {})
        arguments = [("ARGS", arg) for arg in args] + [
            (named.get(dest, dest), value) for dest, value in options.items()
        ]
        for name, value in arguments:
            for text in value if isinstance(value, list | tuple) else [value]:
                problem = argument_problem(text) if isinstance(text, str) else None
                if problem:
                    raise CommandError(f"The argument {name} {problem}; nothing was done.")
        return super().execute(*args, **options)


def refuse_unstorable(value: str) -> None:
    """A Django validator for form and serializer fields."""
    problem = text_problem(value)
    if problem:
        raise ValidationError(f"This field {problem}.", code="unstorable")


class RefuseUnstorableFields:
    """Middleware: a query-string or form field (name or value) that cannot be stored is a 400
    naming the field, for every page at once, before any view or form reads it. JSON bodies are
    checked by the API's parser (accounts/parsers.py)."""

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
    # The API answers errors as JSON, field by field, as DRF does; pages as one plain sentence.
    API_PREFIX = "/api/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = self._first_problem(request)
        if problem is None:
            return self.get_response(request)
        field, sentence = problem
        if request.path.startswith(self.API_PREFIX):
            return JsonResponse({field: [sentence]}, status=400)
        return HttpResponseBadRequest(sentence, content_type="text/plain; charset=utf-8")

    def _first_problem(self, request: HttpRequest) -> tuple[str, str] | None:
        """(the field, the sentence) of the first field that cannot be stored."""
        fields = list(request.GET.lists())
        if request.content_type in self.FORM_TYPES:
            fields += list(request.POST.lists())
        for name, values in fields:
            name_problem = text_problem(name)
            if name_problem:
                return "detail", f"A field name {name_problem}."
            for value in values:
                value_problem = text_problem(value)
                if value_problem:
                    return name, f"The field '{name}' {value_problem}."
        return None


class StorableJSONFormField(forms.JSONField):
    """Django's JSON form field (the admin's, for every JSONField) with the same limits as the
    API: nesting, NaN and Infinity, NUL and lone surrogates are a form error, not a 500."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and json_depth(value) > MAX_JSON_DEPTH:
            raise ValidationError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        converted = super().to_python(value)
        if _has_non_finite(converted):
            raise ValidationError("NaN and Infinity are not JSON values; use a number or null.")
        try:
            check_tree(converted, "")
        except UnstorableInput as error:
            raise ValidationError(str(error)) from None
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        # The form shown again with its error parses the text once more: not too deep text.
        if isinstance(data, str) and json_depth(data) > MAX_JSON_DEPTH:
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


# The JSON settings option of model_spec and judge_spec. Not --settings: every manage.py command
# already has Django's --settings (the settings module), and argparse refuses a second one.
CONFIG_OPTION = "--config"


def settings_from_json(raw: str) -> dict[str, Any]:
    """The --config option of model_spec and judge_spec: a JSON object, or one sentence."""
    try:
        settings = json_loads(raw, what=CONFIG_OPTION)  # nesting and NUL checked: issue 11
    except json.JSONDecodeError as error:
        raise CommandError(f"{CONFIG_OPTION} is not valid JSON: {error.msg}.") from None
    except UnstorableInput as error:
        raise CommandError(str(error)) from None
    if not isinstance(settings, dict):
        raise CommandError(f"{CONFIG_OPTION} must be a JSON object.")
    return settings
