from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import researcher_required
from inference.models import GenerationRun
from inference.selectors import run_responses
from judging.forms import NEW_VERSION_LABEL, JudgeCreateForm, JudgeRunForm, VerdictsUploadForm
from judging.models import JudgeRun
from judging.selectors import (
    judge_run_summaries,
    judge_run_summary,
    verdicts_by_response,
)
from judging.services import (
    JudgeSaveError,
    judge_run_cancel,
    judge_run_create,
    judge_run_resume,
    judge_save,
)
from judging.uploads import verdicts_upload_create
from runs.errors import RunError
from runs.views import polling_partial
from uploads.views import upload_from_form


@researcher_required
@require_GET
def run_verdicts(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun.objects.select_related("benchmark"), pk=pk)
    return render(request, "judging/run.html", verdicts_context(request, run))


def verdicts_context(request: HttpRequest, run: GenerationRun, **forms: object) -> dict:
    summaries = judge_run_summaries(run=run)
    page = Paginator(run_responses(run=run), 25).get_page(request.GET.get("page"))
    judge_runs = [summary.judge_run for summary in summaries]
    verdicts = verdicts_by_response(responses=list(page), judge_runs=judge_runs)
    rows = [(response, verdicts[response.pk]) for response in page]
    return {
        "run": run,
        "summaries": summaries,
        "page": page,
        "rows": rows,
        "run_form": forms.get("run_form") or JudgeRunForm(),
        "create_form": forms.get("create_form") or JudgeCreateForm(),
        "upload_form": forms.get("upload_form") or VerdictsUploadForm(),
    }


@researcher_required
@require_POST
def judge_run_start(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun, pk=pk)
    form = JudgeRunForm(request.POST)
    if form.is_valid():
        try:
            judge = form.cleaned_data["judge"]
            judge_run_create(judge=judge, run=run, created_by=cast(User, request.user))
            return redirect("judging:run", pk=pk)
        except RunError as error:
            form.add_error(None, str(error))
    context = verdicts_context(request, run, run_form=form)
    return render(request, "judging/run.html", context, status=400)


@researcher_required
@require_POST
def judge_create(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun, pk=pk)
    form = JudgeCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        settings = {} if data["threshold"] is None else {"threshold": data["threshold"]}
        try:
            judge = judge_save(
                name=data["name"],
                kind=data["kind"],
                model_spec=data["model_spec"],
                settings=settings,
                new_version=data["new_version"],
                how_to_ask=f'tick "{NEW_VERSION_LABEL}"',
            )
        except JudgeSaveError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, f"Judge {judge.label} ({judge.kind}) saved.")
            return redirect("judging:run", pk=pk)
    context = verdicts_context(request, run, create_form=form)
    return render(request, "judging/run.html", context, status=400)


@researcher_required
@require_POST
def verdicts_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """A judge's verdicts from another tool: a worker makes them a finished judge run."""
    run = get_object_or_404(GenerationRun.objects.select_related("benchmark"), pk=pk)
    form = VerdictsUploadForm(request.POST, request.FILES)
    upload, status = upload_from_form(
        request,
        form,
        lambda data: verdicts_upload_create(**data, run=run, created_by=cast(User, request.user)),
    )
    if upload is not None:
        return redirect("uploads:detail", pk=upload.pk)
    context = verdicts_context(request, run, upload_form=form)
    return render(request, "judging/run.html", context, status=status)


@researcher_required
@require_GET
def judge_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    judge_run = get_object_or_404(JudgeRun.objects.select_related("judge"), pk=pk)
    context = {"summary": judge_run_summary(judge_run=judge_run)}
    return polling_partial(request, "judging/run.html#judge-run", context, judge_run.is_finished)


@researcher_required
@require_POST
def judge_run_restart(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume a failed, cancelled or stalled judge run: queue again the verdicts it lacks."""
    judge_run = get_object_or_404(JudgeRun, pk=pk)
    try:
        # The service refuses a running judge run whose missing verdicts are all in live chunks.
        judge_run_resume(judge_run=judge_run)
    except RunError as error:
        return HttpResponse(str(error), status=400)
    return redirect("judging:run", pk=judge_run.run_id)


@researcher_required
@require_POST
def judge_run_stop(request: HttpRequest, pk: int) -> HttpResponse:
    judge_run = get_object_or_404(JudgeRun, pk=pk)
    judge_run_cancel(judge_run=judge_run)
    return redirect("judging:run", pk=judge_run.run_id)
