"""Reads behind the REST API's lists: filtered querysets with what their serializers touch
joined or prefetched, so a page costs the same number of queries whatever its length.

The small lists reuse the apps' own selectors (``benchmark_list``, ``run_list``,
``campaign_list``); the big ones are filtered here because only the API filters them this way.
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from annotate.models import Campaign, GoldLabel, Label
from annotate.selectors import campaign_list
from benchmarks.models import Benchmark, Prompt
from benchmarks.selectors import benchmark_list
from inference.models import GenerationRun, Response
from inference.selectors import run_list
from judging.models import Judge, Verdict
from judging.selectors import judge_find
from uploads.models import Upload
from uploads.selectors import upload_list


def given(queryset: QuerySet, **lookups: object) -> QuerySet:
    """``queryset`` filtered by each lookup that was asked for; a None value means "any"."""
    return queryset.filter(**{key: value for key, value in lookups.items() if value is not None})


def api_benchmarks() -> QuerySet[Benchmark]:
    return benchmark_list()


def api_prompts(
    *, benchmark: str | None = None, category: str | None = None, subcategory: str | None = None
) -> QuerySet[Prompt]:
    return given(
        Prompt.objects.select_related("benchmark"),
        benchmark__slug=benchmark,
        category=category,
        subcategory=subcategory,
    ).order_by("id")


def api_runs() -> QuerySet[GenerationRun]:
    return run_list().select_related("created_by").order_by("-created_at", "-id")


def api_responses(*, run: int | None = None, category: str | None = None) -> QuerySet[Response]:
    return given(
        Response.objects.select_related("prompt"), run_id=run, prompt__category=category
    ).order_by("id")


def api_judges() -> QuerySet[Judge]:
    return Judge.objects.select_related("model_spec").order_by("name", "version")


def _judge_selected(selector: str | None) -> Judge | int | None:
    """The judge version a ``judge`` filter names; one that names none matches nothing."""
    if selector is None:
        return None
    judge = judge_find(selector)
    return judge if judge is not None else -1


def api_verdicts(
    *,
    run: int | None = None,
    judge: str | None = None,
    judge_run: int | None = None,
    label: str | None = None,
    category: str | None = None,
) -> QuerySet[Verdict]:
    return given(
        Verdict.objects.select_related("judge_run__judge", "response__prompt", "judge_prompt"),
        judge_run__run_id=run,
        judge_run__judge=_judge_selected(judge),
        judge_run_id=judge_run,
        label=label,
        response__prompt__category=category,
    ).order_by("id")


def api_campaigns() -> QuerySet[Campaign]:
    return (
        campaign_list()
        .select_related("created_by")
        .prefetch_related("runs", "sampling_judges", "annotators")
        .order_by("-created_at", "-id")
    )


def api_labels(
    *,
    campaign: int | None = None,
    run: int | None = None,
    category: str | None = None,
    value: str | None = None,
) -> QuerySet[Label]:
    return given(
        Label.objects.select_related("assignment__item", "assignment__annotator").annotate(
            turn=F("assignment__item__response__turn")
        ),
        assignment__item__campaign_id=campaign,
        assignment__item__response__run_id=run,
        assignment__item__response__prompt__category=category,
        value=value,
    ).order_by("id")


def api_gold_labels(
    *,
    campaign: int | None = None,
    run: int | None = None,
    category: str | None = None,
    value: str | None = None,
    source: str | None = None,
) -> QuerySet[GoldLabel]:
    return given(
        GoldLabel.objects.select_related("item", "decided_by").annotate(
            turn=F("item__response__turn")
        ),
        item__campaign_id=campaign,
        item__response__run_id=run,
        item__response__prompt__category=category,
        value=value,
        source=source,
    ).order_by("id")


def api_uploads() -> QuerySet[Upload]:
    return upload_list()
