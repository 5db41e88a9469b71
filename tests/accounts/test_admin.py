from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

from tests.factories import PromptFactory, UserFactory

pytestmark = pytest.mark.django_db

DEMUR_APPS = ("benchmarks", "inference", "judging", "annotate")


def demur_models() -> list[type]:
    return [model for app in DEMUR_APPS for model in apps.get_app_config(app).get_models()]


def test_every_model_is_in_the_admin() -> None:
    missing = [model.__name__ for model in demur_models() if model not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", demur_models(), ids=lambda model: model.__name__)
def test_each_changelist_and_add_page_opens_for_a_researcher(model: type) -> None:
    PromptFactory.create()
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"  # type: ignore[attr-defined]
    assert client.get(base).status_code == 200
    assert client.get(base + "?q=anything").status_code == 200
    assert client.get(base + "add/").status_code == 200


def test_the_prompt_list_filters_by_benchmark_category_and_subcategory() -> None:
    PromptFactory.create(
        category="Humanizing requests", subcategory="personal inquiry", text="Shown?"
    )
    PromptFactory.create(
        category="Incomplete requests", subcategory="underspecified", text="Hidden?"
    )
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    response = client.get("/admin/benchmarks/prompt/?subcategory=personal+inquiry")
    assert b"Shown?" in response.content
    assert b"Hidden?" not in response.content
    page = client.get("/admin/benchmarks/prompt/").content.decode()
    for title in ("By benchmark", "By category", "By subcategory"):
        assert title in page
