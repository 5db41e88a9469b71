from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import ResearcherAdmin
from judging.models import Judge, JudgePrompt, JudgeRun, Verdict


@admin.register(Judge)
class JudgeAdmin(ResearcherAdmin):
    list_display = ["name", "version", "kind", "model_spec", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]

    def get_readonly_fields(self, request: HttpRequest, obj: Judge | None = None) -> list[str]:
        """A version that has judged keeps its definition: its verdicts must keep meaning what
        they meant (a changed judge is a new version: judge_spec --new-version, or the form)."""
        if obj is not None and obj.runs.exists():
            return [*DEFINING_FIELDS, "definition"]
        return ["definition"]


DEFINING_FIELDS = ["name", "version", "kind", "model_spec", "settings"]


@admin.register(JudgeRun)
class JudgeRunAdmin(ResearcherAdmin):
    list_display = ["id", "judge", "run", "status", "created_at"]
    list_filter = ["judge", "status", "run__benchmark"]
    search_fields = ["judge__name", "error"]
    list_select_related = ["judge", "run"]
    raw_id_fields = ["run", "created_by"]


@admin.register(JudgePrompt)
class JudgePromptAdmin(ResearcherAdmin):
    list_display = ["sha256"]
    search_fields = ["sha256", "text"]


@admin.register(Verdict)
class VerdictAdmin(ResearcherAdmin):
    list_display = ["id", "judge_run", "response", "label", "score", "latency_ms"]
    list_filter = [
        "label",
        "judge_run__judge",
        "response__run__benchmark",
        "response__prompt__category",
        "response__prompt__subcategory",
    ]
    search_fields = ["raw_output", "rationale", "response__prompt__external_id"]
    list_select_related = ["judge_run", "judge_run__judge", "response"]
    raw_id_fields = ["judge_run", "response", "judge_prompt", "rubric"]
    show_full_result_count = False
