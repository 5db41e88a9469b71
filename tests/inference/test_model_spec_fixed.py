"""A model spec that runs or judges use keeps its backend and settings: a changed spec would
silently change what those runs say they used."""

from __future__ import annotations

import pytest
from django.test import Client

from inference.models import GenerationRun, ModelSpec
from inference.services import ModelSpecInUse, model_spec_save
from judging.services import judge_save
from tests.factories import BenchmarkFactory, UserFactory

pytestmark = pytest.mark.django_db

REMOTE = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}


def spec_with_run() -> tuple[ModelSpec, GenerationRun]:
    spec = model_spec_save(name="remote", backend="openai", settings=REMOTE)
    run = GenerationRun.objects.create(
        model_spec=spec,
        model_name=spec.name,
        model_snapshot={"backend": spec.backend, "settings": spec.settings},
        benchmark=BenchmarkFactory.create(),
        status="done",
    )
    return spec, run


def test_a_spec_used_by_a_run_cannot_change_its_settings() -> None:
    spec, run = spec_with_run()
    with pytest.raises(ModelSpecInUse) as refused:
        model_spec_save(name="remote", backend="openai", settings=REMOTE | {"temperature": 0.7})
    assert str(refused.value) == (
        "Name: model spec 'remote' is used by 1 run, so its backend and settings cannot change "
        "(they would change what those say they used); save the new settings under another name."
    )
    spec.refresh_from_db()
    assert spec.settings == REMOTE
    assert GenerationRun.objects.get(pk=run.pk).model_spec.settings == REMOTE  # type: ignore[union-attr]


def test_a_spec_used_by_a_judge_cannot_change_its_backend_either() -> None:
    spec = model_spec_save(name="remote", backend="openai", settings=REMOTE)
    judge_save(name="guard", kind="wildguard", model_spec=spec)
    with pytest.raises(ModelSpecInUse, match="is used by 1 judge version"):
        model_spec_save(name="remote", backend="transformers", settings={"path": "x"})
    assert ModelSpec.objects.get(name="remote").backend == "openai"


def test_the_same_settings_again_and_a_new_description_are_fine() -> None:
    spec, _ = spec_with_run()
    again = model_spec_save(
        name="remote", backend="openai", settings=dict(REMOTE), description="Our test server."
    )
    assert (again.pk, again.settings, again.description) == (spec.pk, REMOTE, "Our test server.")


def test_an_unused_spec_can_still_be_corrected() -> None:
    model_spec_save(name="remote", backend="openai", settings=REMOTE)
    fixed = model_spec_save(name="remote", backend="openai", settings=REMOTE | {"model": "m2"})
    assert fixed.settings["model"] == "m2"


def test_the_admin_shows_a_used_specs_settings_read_only() -> None:
    spec, _ = spec_with_run()
    admin = Client()
    admin.force_login(UserFactory.create(role="admin"))
    page = admin.get(f"/admin/inference/modelspec/{spec.pk}/change/").content.decode()
    assert 'name="settings"' not in page and 'name="description"' in page
    unused = model_spec_save(name="unused", backend="openai", settings=REMOTE)
    page = admin.get(f"/admin/inference/modelspec/{unused.pk}/change/").content.decode()
    assert 'name="settings"' in page
