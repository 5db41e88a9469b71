from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import ResearcherAdmin
from inference.models import GenerationRun, ModelSpec, Response


@admin.register(ModelSpec)
class ModelSpecAdmin(ResearcherAdmin):
    list_display = ["name", "backend", "created_at"]
    list_filter = ["backend"]
    search_fields = ["name", "description"]

    def get_readonly_fields(self, request: HttpRequest, obj: ModelSpec | None = None) -> list[str]:
        """A spec that runs or judges use keeps its name, backend and settings
        (inference.services.model_spec_save says why)."""
        if obj is not None and (obj.runs.exists() or obj.judges.exists()):
            return ["name", "backend", "settings"]
        return []


@admin.register(GenerationRun)
class GenerationRunAdmin(ResearcherAdmin):
    list_display = ["id", "model_name", "benchmark", "status", "imported", "created_at"]
    list_filter = ["benchmark", "status", "imported"]
    search_fields = ["model_name", "error"]
    list_select_related = ["benchmark"]
    raw_id_fields = ["created_by"]


@admin.register(Response)
class ResponseAdmin(ResearcherAdmin):
    list_display = [
        "id", "run", "prompt_external_id", "turn", "category", "subcategory", "short_text"
    ]  # fmt: skip
    list_filter = [
        "run__benchmark",
        "run",
        "prompt__category",
        "prompt__subcategory",
        "finish_reason",
    ]
    search_fields = ["text", "prompt__external_id", "prompt__text"]
    list_select_related = ["run", "run__benchmark", "prompt"]
    raw_id_fields = ["run", "prompt"]
    show_full_result_count = False

    @admin.display(description="prompt id", ordering="prompt__external_id")
    def prompt_external_id(self, obj: Response) -> str:
        return obj.prompt.external_id

    @admin.display(description="category", ordering="prompt__category")
    def category(self, obj: Response) -> str:
        return obj.prompt.category

    @admin.display(description="subcategory", ordering="prompt__subcategory")
    def subcategory(self, obj: Response) -> str:
        return obj.prompt.subcategory

    @admin.display(description="text")
    def short_text(self, obj: Response) -> str:
        return obj.text[:100]
