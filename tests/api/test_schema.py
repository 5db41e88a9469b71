"""The OpenAPI schema: drf-spectacular builds it without a warning, it is a valid OpenAPI 3
document, and the read endpoints answer what it says (schemathesis, against the WSGI app)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from config.wsgi import application
from tests.api.conftest import World

pytestmark = pytest.mark.django_db


def test_spectacular_builds_a_valid_schema_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    document = yaml.safe_load(target.read_text())
    assert document["openapi"].startswith("3.")
    assert "/api/verdicts/" in document["paths"]


def test_the_served_schema_is_a_valid_openapi_document(world: World) -> None:
    client = Client()
    client.force_login(world.researcher)
    document = client.get("/api/schema/?format=json").json()
    loaded = schemathesis.openapi.from_dict(document)
    loaded.validate()  # raises on anything the OpenAPI 3 meta-schema refuses
    verdicts = document["paths"]["/api/verdicts/"]["get"]
    filters = {p["name"] for p in verdicts["parameters"]}
    assert {"run", "judge", "judge_run", "label", "category", "cursor"} <= filters
    assert set(verdicts["responses"]) == {"200", "400", "401", "403", "404"}


def test_a_broken_document_would_be_caught() -> None:
    broken = {"openapi": "3.0.3", "info": {"title": "x"}, "paths": {}}  # no version
    with pytest.raises(Exception, match="version"):
        schemathesis.openapi.from_dict(broken).validate()


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The real WSGI app, called in-process inside the test's transaction. Like Django's test
    client, stop it from closing the connection at each request, which would end the
    transaction that holds the test data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def researcher_token(world: World) -> str:
    return Token.objects.create(user=world.researcher).key


def generated_schema() -> dict[str, Any]:
    """The document /api/schema/ serves, built the way the view builds it (no request, so it
    can be built when pytest collects this module)."""
    generator = SchemaGenerator()
    rendered = OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True))
    document: dict[str, Any] = json.loads(rendered)
    return document


def test_the_fuzzed_schema_is_the_served_one(world: World) -> None:
    client = Client()
    client.force_login(world.researcher)
    assert client.get("/api/schema/?format=json").json() == generated_schema()


def read_operations() -> Any:
    loaded = schemathesis.openapi.from_dict(generated_schema())
    loaded.app = application  # every request, the checks' own too, goes to the WSGI app
    return loaded.include(method="GET")


schema = read_operations()


@schema.parametrize()
# Bounded and derandomized: the same cases every run, about a second per operation. (Run with
# a larger max_examples and without derandomize to hunt for new failures.)
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_read_endpoints_answer_as_the_schema_says(
    case: Any, wsgi_app: Any, researcher_token: str
) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {researcher_token}"})


def write_operations() -> Any:
    """POST and DELETE, with valid and invalid bodies alike (negative mode: wrong types,
    missing fields, out-of-range numbers) and NUL characters allowed in strings."""
    loaded = schemathesis.openapi.from_dict(generated_schema())
    loaded.app = application
    loaded.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        allow_x00=True,
    )
    return loaded.include(method=["POST", "DELETE"])


write_schema = write_operations()


@write_schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_write_endpoints_never_answer_a_server_error(
    case: Any, wsgi_app: Any, researcher_token: str
) -> None:
    # Only "not a server error": what the writes answer to bad input is checked field by field
    # in test_writes.py and test_hostile_bodies.py; here anything below 500 is acceptable.
    case.call_and_validate(
        headers={"Authorization": f"Token {researcher_token}"},
        checks=[schemathesis.checks.not_a_server_error],
    )
