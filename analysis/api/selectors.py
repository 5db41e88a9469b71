"""Reads behind the REST API's lists: filtered querysets with what their serializers touch
joined or prefetched, so a page costs the same number of queries whatever its length.

The small lists reuse the apps' own selectors (``benchmark_list``, ``run_list``,
``campaign_list``); the big ones are filtered here because only the API filters them this way.
"""

from __future__ import annotations

from django.db.models import QuerySet

from annotate.models import Campaign, GoldLabel, Label
from annotate.selectors import campaign_list
from benchmarks.models import Benchmark, Prompt
from benchmarks.selectors import benchmark_list
from inference.models import GenerationRun, Response
from inference.selectors import run_list
from judging.models import Judge, Verdict


def api_benchmarks() -> QuerySet[Benchmark]:
    return benchmark_list()


def api_prompts(
    *, benchmark: str | None = None, category: str | None = None, subcategory: str | None = None
) -> QuerySet[Prompt]:
    prompts = Prompt.objects.select_related("benchmark")
    if benchmark is not None:
        prompts = prompts.filter(benchmark__slug=benchmark)
    if category is not None:
        prompts = prompts.filter(category=category)
    if subcategory is not None:
        prompts = prompts.filter(subcategory=subcategory)
    return prompts.order_by("id")


def api_runs() -> QuerySet[GenerationRun]:
    return run_list().select_related("created_by").order_by("-created_at", "-id")


def api_responses(*, run: int | None = None, category: str | None = None) -> QuerySet[Response]:
    responses = Response.objects.select_related("prompt")
    if run is not None:
        responses = responses.filter(run_id=run)
    if category is not None:
        responses = responses.filter(prompt__category=category)
    return responses.order_by("id")


def api_judges() -> QuerySet[Judge]:
    return Judge.objects.select_related("model_spec").order_by("name")


def api_verdicts(
    *,
    run: int | None = None,
    judge: str | None = None,
    judge_run: int | None = None,
    label: str | None = None,
    category: str | None = None,
) -> QuerySet[Verdict]:
    verdicts = Verdict.objects.select_related(
        "judge_run__judge", "response__prompt", "judge_prompt"
    )
    if run is not None:
        verdicts = verdicts.filter(judge_run__run_id=run)
    if judge is not None:
        verdicts = verdicts.filter(judge_run__judge__name=judge)
    if judge_run is not None:
        verdicts = verdicts.filter(judge_run_id=judge_run)
    if label is not None:
        verdicts = verdicts.filter(label=label)
    if category is not None:
        verdicts = verdicts.filter(response__prompt__category=category)
    return verdicts.order_by("id")


def api_campaigns() -> QuerySet[Campaign]:
    return (
        campaign_list()
        .select_related("created_by")
        .prefetch_related("runs", "sampling_judges", "annotators")
        .order_by("-created_at", "-id")
    )


def api_labels(*, campaign: int | None = None, value: str | None = None) -> QuerySet[Label]:
    labels = Label.objects.select_related("assignment__item", "assignment__annotator")
    if campaign is not None:
        labels = labels.filter(assignment__item__campaign_id=campaign)
    if value is not None:
        labels = labels.filter(value=value)
    return labels.order_by("id")


def api_gold_labels(
    *, campaign: int | None = None, value: str | None = None, source: str | None = None
) -> QuerySet[GoldLabel]:
    gold = GoldLabel.objects.select_related("item", "decided_by")
    if campaign is not None:
        gold = gold.filter(item__campaign_id=campaign)
    if value is not None:
        gold = gold.filter(value=value)
    if source is not None:
        gold = gold.filter(source=source)
    return gold.order_by("id")
