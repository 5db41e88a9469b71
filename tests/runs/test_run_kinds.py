"""Every kind of run the queue can meet is registered with the service that does its chunks, and
says what its items and queue are: a run model without them would have its chunks claimed by a
worker and then fail in that worker, not here."""

from __future__ import annotations

from django.apps import apps

from inference.models import GenerationRun
from inference.services import generation_run_generate_chunk
from judging.models import JudgeRun
from judging.services import judge_run_judge_chunk
from runs.chunks import run_kind
from runs.models import Run
from runs.selectors import following_models


def run_models() -> list[type[Run]]:
    return [model for model in apps.get_models() if issubclass(model, Run)]


def test_every_run_model_is_registered_under_its_own_chunk_kind() -> None:
    models = run_models()
    assert {model.__name__ for model in models} == {"GenerationRun", "JudgeRun"}
    kinds = [model.chunk_kind for model in models]
    assert len(set(kinds)) == len(kinds)
    for model in models:
        assert run_kind(model.chunk_kind).model is model
        # Its own item rows and its own reads, not the abstract ones that raise.
        assert model._meta.get_field(model.items_relation).related_model is not None
        assert model.chunk_queue is not Run.chunk_queue
        assert model.missing_item_ids is not Run.missing_item_ids


def test_the_queue_calls_each_apps_chunk_service_by_name() -> None:
    assert run_kind("generation").work is generation_run_generate_chunk
    assert run_kind("judging").work is judge_run_judge_chunk


def test_a_judge_run_follows_the_generation_run_it_reads() -> None:
    assert following_models(GenerationRun) == [JudgeRun]
    assert following_models(JudgeRun) == []
