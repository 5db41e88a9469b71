from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.roles import researcher_required
from benchmarks.models import Benchmark
from benchmarks.selectors import benchmark_list as select_benchmarks
from benchmarks.selectors import benchmark_subcategory_counts


@researcher_required
@require_GET
def benchmark_list(request: HttpRequest) -> HttpResponse:
    return render(request, "benchmarks/list.html", {"benchmarks": select_benchmarks()})


@researcher_required
@require_GET
def benchmark_detail(request: HttpRequest, slug: str) -> HttpResponse:
    benchmark = get_object_or_404(Benchmark, slug=slug)
    counts = benchmark_subcategory_counts(benchmark=benchmark)
    context = {
        "benchmark": benchmark,
        "counts": counts,
        "total": sum(row.prompts for row in counts),
        "without_rubric": [row.subcategory for row in counts if row.rubric is None],
    }
    return render(request, "benchmarks/detail.html", context)
