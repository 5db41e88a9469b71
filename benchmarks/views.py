from __future__ import annotations

from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import researcher_required
from benchmarks.forms import BenchmarkUploadForm
from benchmarks.models import Benchmark
from benchmarks.selectors import (
    benchmark_conversation_counts,
    benchmark_conversations,
    benchmark_subcategory_counts,
)
from benchmarks.selectors import benchmark_list as select_benchmarks
from benchmarks.uploads import benchmark_upload_create
from uploads.views import upload_from_form


@researcher_required
@require_GET
def benchmark_list(request: HttpRequest) -> HttpResponse:
    context = {"benchmarks": select_benchmarks(), "upload_form": BenchmarkUploadForm()}
    return render(request, "benchmarks/list.html", context)


@researcher_required
@require_POST
def benchmark_upload(request: HttpRequest) -> HttpResponse:
    """A benchmark file from the page: kept for a worker, whose progress its page shows."""
    form = BenchmarkUploadForm(request.POST, request.FILES)
    upload, status = upload_from_form(
        request,
        form,
        lambda data: benchmark_upload_create(**data, created_by=cast(User, request.user)),
    )
    if upload is not None:
        return redirect("uploads:detail", pk=upload.pk)
    context = {"benchmarks": select_benchmarks(), "upload_form": form}
    return render(request, "benchmarks/list.html", context, status=status)


@researcher_required
@require_GET
def benchmark_detail(request: HttpRequest, slug: str) -> HttpResponse:
    benchmark = get_object_or_404(Benchmark, slug=slug)
    counts = benchmark_subcategory_counts(benchmark=benchmark)
    conversation_counts = benchmark_conversation_counts(benchmark=benchmark)
    context = {
        "benchmark": benchmark,
        "counts": counts,
        "total": sum(row.prompts for row in counts),
        "without_rubric": [row.subcategory for row in counts if row.rubric is None],
        "conversation_counts": conversation_counts,
        "conversations": (
            benchmark_conversations(benchmark=benchmark) if conversation_counts.total else []
        ),
    }
    return render(request, "benchmarks/detail.html", context)
