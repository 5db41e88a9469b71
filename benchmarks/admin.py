from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin import ResearcherAdmin
from benchmarks.models import Benchmark, Prompt, Rubric


@admin.register(Benchmark)
class BenchmarkAdmin(ResearcherAdmin):
    list_display = ["slug", "name", "kind", "prompt_count", "source", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["slug", "name", "description", "source"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Benchmark]:
        return super().get_queryset(request).annotate(prompt_count=Count("prompts"))

    @admin.display(ordering="prompt_count", description="prompts")
    def prompt_count(self, obj: Benchmark) -> int:
        return obj.prompt_count  # type: ignore[attr-defined]


@admin.register(Prompt)
class PromptAdmin(ResearcherAdmin):
    list_display = ["external_id", "benchmark", "category", "subcategory", "shape", "short_text"]
    list_filter = ["benchmark", "category", "subcategory"]
    search_fields = ["external_id", "text"]
    list_select_related = ["benchmark"]
    show_full_result_count = False  # COUNT(*) over 100,000s of rows on every page is slow

    @admin.display(description="text")
    def short_text(self, obj: Prompt) -> str:
        return obj.text[:100]

    @admin.display(description="shape")
    def shape(self, obj: Prompt) -> str:
        return str(obj.shape.label)


@admin.register(Rubric)
class RubricAdmin(ResearcherAdmin):
    list_display = ["subcategory", "benchmark", "short_version", "is_current", "created_at"]
    list_filter = ["benchmark", "is_current", "subcategory"]
    search_fields = ["subcategory", "acceptable", "unacceptable"]
    list_select_related = ["benchmark"]

    @admin.display(description="version")
    def short_version(self, obj: Rubric) -> str:
        return obj.version[:8]
