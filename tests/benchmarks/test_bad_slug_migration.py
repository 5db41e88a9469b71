"""A benchmark with a slug its URLs cannot hold, imported before slugs were checked (issue 11),
gets a valid one from a migration; after it no way of writing one remains (the admin, the
database)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from benchmarks.models import Benchmark
from tests.factories import UserFactory

BEFORE = [("benchmarks", "0002_role_groups")]
AFTER = [("benchmarks", "0003_benchmark_slugs_valid")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


@pytest.mark.django_db(transaction=True)
def test_bad_slugs_made_before_the_check_become_valid_and_the_list_opens(
    role_groups: None,
) -> None:
    old = migrate(BEFORE)
    old_benchmark = old.get_model("benchmarks", "Benchmark")
    rows = {
        slug: old_benchmark.objects.create(slug=slug, name=f"Name of {slug}", kind="contrast").pk
        for slug in ("BAD SLUG!", "bad-slug", "!!!", "café", "fine_one")
    }
    try:
        migrate(AFTER)
        slugs = dict(Benchmark.objects.values_list("pk", "slug"))
        assert slugs == {
            rows["BAD SLUG!"]: f"bad-slug-{rows['BAD SLUG!']}",  # "bad-slug" was taken
            rows["bad-slug"]: "bad-slug",
            rows["!!!"]: f"benchmark-{rows['!!!']}",  # nothing of it was left
            rows["café"]: "cafe",
            rows["fine_one"]: "fine_one",
        }
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        client = researcher()
        page = client.get("/benchmarks/")
        assert page.status_code == 200
        text = page.content.decode()
        for slug in slugs.values():
            assert f'href="/benchmarks/{slug}/"' in text
        detail = client.get(f"/benchmarks/bad-slug-{rows['BAD SLUG!']}/")
        assert detail.status_code == 200
        assert "Name of BAD SLUG!" in detail.content.decode()
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["BAD SLUG!", "café", "", "line\nbreak", "ends-with-newline\n"])
def test_the_database_refuses_a_slug_its_urls_cannot_hold(slug: str) -> None:
    # Writes that skip the model's validation (bulk writes, raw get_or_create) meet the check
    # constraint: no page can meet such a slug.
    with pytest.raises(IntegrityError), transaction.atomic():
        Benchmark.objects.create(slug=slug, name="N", kind="contrast")
    assert not Benchmark.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_bad_slug_with_a_field_error() -> None:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    form = {"slug": "BAD SLUG!", "name": "Bad", "kind": "contrast", "source": "", "description": ""}
    response = client.post("/admin/benchmarks/benchmark/add/", form)
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["slug"]
    assert "valid “slug”" in errors["slug"][0]
    assert not Benchmark.objects.exists()
    form["slug"] = "good-slug"
    assert client.post("/admin/benchmarks/benchmark/add/", form).status_code == 302
    assert Benchmark.objects.get().slug == "good-slug"
