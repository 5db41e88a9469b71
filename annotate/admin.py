from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import ResearcherAdmin
from annotate.models import (
    AnnotatorCount,
    AnnotatorStanding,
    Assignment,
    Campaign,
    GoldLabel,
    Item,
    Label,
    LabelRevision,
    TargetMet,
)
from annotate.services.labels import annotator_counts_recount


class KeepsAnnotatorCounts(ResearcherAdmin):
    """Deleting assignments here (or the items they are of) counts the annotators' labels again
    (``AnnotatorCount``, the progress bar's count), which the label path keeps otherwise."""

    def assignments_of(self, queryset: QuerySet[Any]) -> QuerySet[Assignment]:
        raise NotImplementedError

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            pairs = list(
                self.assignments_of(queryset)
                .values_list("item__campaign_id", "annotator_id")
                .distinct()
            )
            super().delete_queryset(request, queryset)
            annotator_counts_recount(pairs)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_queryset(request, type(obj).objects.filter(pk=obj.pk))


@admin.register(Campaign)
class CampaignAdmin(ResearcherAdmin):
    list_display = [
        "name",
        "status",
        "sampling",
        "turns",
        "overlap",
        "show_model_name",
        "is_demo",
        "created_at",
    ]
    list_filter = ["status", "sampling", "turns", "is_demo", "runs__benchmark"]
    search_fields = ["name", "description"]
    filter_horizontal = ["runs", "annotators", "sampling_judges"]


@admin.register(Item)
class ItemAdmin(KeepsAnnotatorCounts):
    list_display = [
        "id",
        "campaign",
        "response",
        "check_kind",
        "inclusion_probability",
        "position",
        "conversation",
        "slots_left",
    ]
    list_filter = [
        "check_kind",
        "campaign",
        "response__run__benchmark",
        "response__prompt__category",
        "response__prompt__subcategory",
    ]
    search_fields = ["response__prompt__external_id", "response__text"]
    list_select_related = ["campaign", "response"]
    raw_id_fields = ["response"]
    show_full_result_count = False

    def assignments_of(self, queryset: QuerySet[Any]) -> QuerySet[Assignment]:
        return Assignment.objects.filter(item__in=queryset)


@admin.register(Assignment)
class AssignmentAdmin(KeepsAnnotatorCounts):
    list_display = ["id", "item", "annotator", "status", "reserved_at", "expires_at"]
    list_filter = ["status", "item__campaign", "item__response__prompt__category"]
    search_fields = ["annotator__username", "item__response__prompt__external_id"]
    list_select_related = ["item", "annotator"]
    raw_id_fields = ["item", "annotator"]

    def assignments_of(self, queryset: QuerySet[Any]) -> QuerySet[Assignment]:
        return queryset


class LabelRevisionInline(admin.TabularInline):
    model = LabelRevision
    extra = 0
    readonly_fields = ["value", "note", "time_spent_ms", "created_at"]


@admin.register(Label)
class LabelAdmin(ResearcherAdmin):
    list_display = ["id", "assignment", "value", "time_spent_ms", "is_demo", "updated_at"]
    list_filter = [
        "value",
        "is_demo",
        "assignment__item__campaign",
        "assignment__item__response__prompt__category",
        "assignment__item__response__prompt__subcategory",
    ]
    search_fields = ["note", "assignment__annotator__username"]
    list_select_related = ["assignment"]
    raw_id_fields = ["assignment"]
    inlines = [LabelRevisionInline]


@admin.register(LabelRevision)
class LabelRevisionAdmin(ResearcherAdmin):
    list_display = ["id", "label", "value", "created_at"]
    list_filter = ["value"]
    search_fields = ["note"]
    raw_id_fields = ["label"]


@admin.register(GoldLabel)
class GoldLabelAdmin(ResearcherAdmin):
    list_display = ["id", "item", "value", "source", "decided_by", "updated_at"]
    list_filter = [
        "source",
        "value",
        "item__campaign",
        "item__response__prompt__category",
        "item__response__prompt__subcategory",
    ]
    search_fields = ["reason", "item__response__prompt__external_id"]
    list_select_related = ["item", "decided_by"]
    raw_id_fields = ["item", "decided_by"]


@admin.register(AnnotatorStanding)
class AnnotatorStandingAdmin(ResearcherAdmin):
    """Pauses and exclusions; the campaign page's buttons are the usual way to change them (they
    also decide the gold labels anew, which an edit here does not)."""

    list_display = ["id", "campaign", "annotator", "paused_at", "excluded_at", "excluded_by"]
    list_filter = ["campaign"]
    search_fields = ["annotator__username", "pause_reason"]
    list_select_related = ["campaign", "annotator", "excluded_by"]
    raw_id_fields = ["annotator", "excluded_by"]


@admin.register(TargetMet)
class TargetMetAdmin(ResearcherAdmin):
    """When each campaign target was met. Deleting a row serves its category again, until the
    next gold label there meets the target anew."""

    list_display = ["campaign", "category", "met_at", "labels", "estimate", "half_width"]
    list_filter = ["campaign"]
    search_fields = ["category"]
    list_select_related = ["campaign"]


@admin.register(AnnotatorCount)
class AnnotatorCountAdmin(ResearcherAdmin):
    """Items each annotator has labelled per campaign: what their progress bar shows, kept with
    each first label. Correct it here if assignments were deleted by hand."""

    list_display = ["campaign", "annotator", "labelled"]
    list_filter = ["campaign"]
    search_fields = ["annotator__username"]
    list_select_related = ["campaign", "annotator"]
