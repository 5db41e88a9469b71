from __future__ import annotations

from typing import cast

from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import researcher_required
from inference.forms import ResponsesUploadForm, RunStartForm
from inference.models import GenerationRun
from inference.selectors import run_list, run_progress, run_responses, run_rows
from inference.services import (
    generation_run_cancel,
    generation_run_create,
    generation_run_resume,
)
from inference.uploads import responses_upload_create
from runs.errors import RunError
from runs.views import polling_partial
from uploads.views import upload_from_form


@researcher_required
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    return render(request, "inference/runs.html", runs_context())


def runs_context(**forms: object) -> dict[str, object]:
    return {
        "rows": run_rows(list(run_list()[:200])),
        "form": forms.get("form") or RunStartForm(),
        "upload_form": forms.get("upload_form") or ResponsesUploadForm(),
    }


@researcher_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    form = RunStartForm(request.POST)
    if form.is_valid():
        try:
            run = generation_run_create(
                benchmark=form.cleaned_data["benchmark"],
                model_spec=form.cleaned_data["model_spec"],
                categories=form.cleaned_data["categories"],
                limit=form.cleaned_data["limit"],
                judges_after=form.cleaned_data["judges_after"],
                created_by=cast(User, request.user),
            )
            return redirect("inference:run", pk=run.pk)
        except RunError as error:
            form.add_error(None, str(error))
    return render(request, "inference/runs.html", runs_context(form=form), status=400)


@researcher_required
@require_POST
def responses_upload(request: HttpRequest) -> HttpResponse:
    """A file of responses from the page: a worker makes it a finished run."""
    form = ResponsesUploadForm(request.POST, request.FILES)
    upload, status = upload_from_form(
        request,
        form,
        lambda data: responses_upload_create(**data, created_by=cast(User, request.user)),
    )
    if upload is not None:
        return redirect("uploads:detail", pk=upload.pk)
    context = runs_context(upload_form=form)
    return render(request, "inference/runs.html", context, status=status)


@researcher_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun.objects.select_related("benchmark"), pk=pk)
    page = Paginator(run_responses(run=run), 50).get_page(request.GET.get("page"))
    context = {"run": run, "progress": run_progress(run=run), "page": page}
    return render(request, "inference/run.html", context)


@researcher_required
@require_GET
def run_progress_partial(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun, pk=pk)
    context = {"run": run, "progress": run_progress(run=run)}
    return polling_partial(request, "inference/run.html#progress", context, run.is_finished)


@researcher_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    generation_run_cancel(run=get_object_or_404(GenerationRun, pk=pk))
    return redirect("inference:run", pk=pk)


@researcher_required
@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(GenerationRun, pk=pk)
    try:
        # The service refuses a running run whose missing prompts are all in live chunks.
        generation_run_resume(run=run)
    except RunError as error:
        return HttpResponse(str(error), status=400)
    return redirect("inference:run", pk=pk)
