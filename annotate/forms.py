from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict

from accounts.numbers import MAX_INT, whole_number
from accounts.roles import ANNOTATOR
from annotate.label_budget import PROMPTS, RESPONSES
from annotate.models import Campaign, CampaignKind, CheckKind, GoldSource, Sampling, Turns
from annotate.schemes import BUILT_IN_SCHEMES, COCONOT, CUSTOM, SchemeError, scheme_for
from annotate.selectors import run_categories
from inference.models import GenerationRun
from judging.models import Judge


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(
        choices=CampaignKind.choices,
        initial=CampaignKind.SINGLE,
        required=False,  # a form posted without it (a script's) makes a single campaign
        help_text="Side by side: two runs or more over one benchmark, their answers to each "
        "prompt compared in pairs, with the side-by-side label scheme.",
    )
    runs = forms.ModelMultipleChoiceField(
        queryset=GenerationRun.objects.select_related("benchmark").order_by("-created_at"),
        widget=forms.CheckboxSelectMultiple,
        help_text="Responses of these runs are what people label.",
    )
    categories = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Of the chosen runs' responses; none ticked: all.",
        error_messages={"invalid_choice": "Category %(value)r is not in the chosen runs."},
    )
    subcategories = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Under their categories; none ticked: all.",
        error_messages={"invalid_choice": "Subcategory %(value)r is not in the chosen runs."},
    )
    exclude_truncated = forms.BooleanField(
        required=False,
        label="Leave out truncated responses",
        help_text="Responses cut off at the length limit are not drawn; the campaign's figures "
        "then describe the rest of the run only.",
    )
    turns = forms.ChoiceField(
        choices=Turns.choices,
        initial=Turns.LAST,
        required=False,  # a form posted without it (a script's) labels the last answers
        label="Conversations",
        help_text="Scripted conversations have an answer per user turn: label the last one, or "
        "every one (an annotator then sees a conversation's turns in order, and sampling draws "
        "whole conversations: the sample size counts conversations).",
    )
    sampling = forms.ChoiceField(choices=Sampling.choices, initial=Sampling.ALL)
    sample_size = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_INT,
        help_text="Items to draw (all but 'All responses').",
    )
    sampling_judges = forms.ModelMultipleChoiceField(
        queryset=Judge.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For 'Judge disagreement first', active sampling (whose uncertainty it "
        "follows) and Neyman allocation (exactly one: whose errors it spreads labels by).",
    )
    pilot = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        label="Pilot campaign",
        empty_label="None",
        help_text="For Neyman allocation: its gold labels show where the sampling judge errs.",
    )
    active_uniform_share = forms.FloatField(
        required=False,
        min_value=0.01,
        max_value=1,
        label="Uniform share",
        help_text="For active sampling: this share of each response's chance is the same for "
        "all, so none is near zero (empty: 0.25).",
    )
    seed = forms.IntegerField(initial=0, min_value=0, max_value=MAX_INT)
    overlap = forms.IntegerField(
        initial=3, min_value=1, max_value=50, help_text="Annotators per item."
    )
    scheme = forms.ChoiceField(
        label="Label scheme",
        choices=[(key, value["name"]) for key, value in BUILT_IN_SCHEMES.items()]
        + [(CUSTOM, "Custom (JSON below)")],
        initial=COCONOT,
    )
    custom_scheme = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='{"name": "...", "choices": [{"value": "yes", "label": "Yes", "key": "1"}, ...]}',
    )
    guidelines = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown."
    )
    show_model_name = forms.BooleanField(required=False, label="Annotators see the model name")
    annotators = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(groups__name=ANNOTATOR, is_active=True).order_by("username"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reservation_minutes = forms.IntegerField(
        initial=30,
        min_value=1,
        max_value=24 * 60,
        help_text="An item served and not labelled goes back to the pool after this.",
    )
    target_half_width = forms.FloatField(
        required=False,
        label="Target ±",
        help_text="Stop serving a category once the target judge's corrected compliance rate "
        "is known within ± this share (0.03 is ±3 points; anytime-valid 95% interval); "
        "empty: no target.",
    )
    target_judge = forms.ModelChoiceField(
        queryset=Judge.objects.order_by("name", "-version"),
        required=False,
        empty_label="None",
        help_text="The judge whose corrected compliance rate the target is on; it must have "
        "judged every chosen run.",
    )
    target_per_category = forms.BooleanField(
        required=False,
        initial=True,
        label="A target per category",
        help_text="Each prompt category stops on its own; unticked: one target for the whole "
        "campaign, which then stops as a whole.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pilot = cast(forms.ModelChoiceField, self.fields["pilot"])
        pilot.queryset = pilot_campaigns()
        # Pick lists of what the chosen runs really have, so that no name can be mistyped.
        self.run_categories = run_categories(runs=self.chosen_runs())
        categories = cast(forms.MultipleChoiceField, self.fields["categories"])
        categories.choices = [(name, name) for name in self.run_categories]
        subcategories = cast(forms.MultipleChoiceField, self.fields["subcategories"])
        subcategories.choices = [
            (category, [(name, name) for name in names])
            for category, names in self.run_categories.items()
        ]

    def chosen_runs(self) -> list[GenerationRun]:
        """The runs ticked so far (posted, or given as initial values when the form is shown
        again to update its lists); none before any is ticked."""
        raw = _values(self.data, "runs") if self.is_bound else self.initial.get("runs", [])
        ids = [whole_number(str(value)) for value in raw]
        return list(GenerationRun.objects.filter(pk__in=[pk for pk in ids if pk is not None]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["kind"] = data.get("kind") or CampaignKind.SINGLE
        data["turns"] = data.get("turns") or Turns.LAST
        if "scheme" in data:
            try:
                data["label_scheme"] = scheme_for(
                    name=data["scheme"], custom_json=data.get("custom_scheme", "")
                )
            except SchemeError as error:
                self.add_error("custom_scheme", str(error))
        return data


def pilot_campaigns() -> QuerySet[Campaign]:
    """Campaigns of one response at a time with gold labels: what can show a judge's errors."""
    return (
        Campaign.objects.exclude(kind=CampaignKind.PAIRWISE)
        .filter(items__gold__isnull=False, items__check_kind=CheckKind.NONE)
        .distinct()
        .order_by("-created_at")
    )


class PlanForm(forms.Form):
    """The campaign form's planner: how many labels for a ±target interval on the chosen runs'
    judge-corrected compliance rate (annotate/plans.py). Its fields sit inside the campaign
    form under ``plan_`` names; the runs, categories and pilot are the campaign form's."""

    # No HTML "required": the fields sit inside the campaign form, and a browser would refuse
    # to create a campaign until the planner's judge was chosen. The planner checks them.
    use_required_attribute = False

    plan_judge = forms.ModelChoiceField(
        queryset=Judge.objects.order_by("name", "-version"),
        label="Judge",
        empty_label="Choose a judge…",
        help_text="Whose compliance rate the labels correct.",
    )
    plan_target = forms.FloatField(
        initial=0.03,
        min_value=0.001,
        max_value=0.5,
        label="Target ±",
        help_text="Half-width of the 95% interval, a share: 0.03 is ±3 points.",
    )
    plan_population = forms.ChoiceField(
        choices=[
            (RESPONSES, "These responses themselves (as campaign targets)"),
            (PROMPTS, "Prompts like these (the judge's own sampling error stays)"),
        ],
        initial=RESPONSES,
        required=False,
        label="Rate of",
    )
    plan_accuracy = forms.FloatField(
        required=False,
        min_value=0.501,
        max_value=1,
        label="Assumed accuracy",
        help_text="Without a pilot campaign: how often the judge's call is the human's.",
    )
    plan_seconds = forms.FloatField(
        required=False,
        min_value=0.1,
        max_value=24 * 3600,
        label="Seconds per label",
        help_text="Empty: the pilot's median, else 30.",
    )


def _values(data: Mapping[str, Any], name: str) -> list[Any]:
    if isinstance(data, QueryDict):
        return data.getlist(name)
    value = data.get(name, [])
    return list(value) if isinstance(value, list | tuple) else [value]


def initial_from(data: QueryDict) -> dict[str, Any]:
    """What was filled in so far, as initial values: the form shown again (to update its pick
    lists for the chosen runs) keeps it, without complaining about fields not filled in yet."""
    multiple = (forms.MultipleChoiceField, forms.ModelMultipleChoiceField)
    return {
        name: data.getlist(name) if isinstance(field, multiple) else data.get(name)
        for name, field in CampaignForm.base_fields.items()
        if name in data
    }


class GoldForm(forms.Form):
    value = forms.CharField(max_length=50)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


# --- Checks and quality control (annotate/check_views.py) ------------------------------------


class QualitySettingsForm(forms.Form):
    """The quality-control settings of a campaign; annotate.services.checks.quality_settings_set
    checks the ranges, with one sentence per setting."""

    check_every = forms.IntegerField(
        required=False,
        label="Check every",
        help_text="About one item in this many is a check, at random; empty: no checks.",
    )
    attention_text = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Shown on an attention check; {label} and {key} name its answer.",
    )
    min_seconds = forms.IntegerField(
        label="Minimum seconds",
        help_text="Labels given faster than this are flagged as fast; 0: none.",
    )
    pause_below = forms.FloatField(
        required=False,
        help_text="Pause an annotator whose accuracy on checks falls below this (0 to 1); "
        "empty: never.",
    )
    pause_after = forms.IntegerField(help_text="Checks answered before the pause rule applies.")
    max_overlap = forms.IntegerField(
        required=False,
        help_text="An item whose labels disagree gets one more annotator at a time, up to this "
        "many; empty: never more than the overlap.",
    )


class SourceCampaignField(forms.ModelChoiceField):
    """A campaign to take gold labels from, named with how much gold it has (the queryset
    annotates ``gold_count`` and ``adjudicated_count``)."""

    def label_from_instance(self, obj: Any) -> str:
        return (
            f"{obj.name} (#{obj.pk}): {obj.gold_count} gold, "
            f"{obj.adjudicated_count} set by a researcher"
        )


class GoldChecksForm(forms.Form):
    """Gold questions from another campaign's gold labels."""

    source = SourceCampaignField(
        queryset=Campaign.objects.none(),
        label="From campaign",
        empty_label="Choose a campaign…",
        help_text="Its gold labels become the answers; its label scheme must be this one's.",
    )
    count = forms.IntegerField(initial=20, max_value=MAX_INT, help_text="At most this many.")
    adjudicated_only = forms.BooleanField(
        required=False,
        label="Only gold labels set by a researcher",
        help_text="Otherwise also those where all annotators agreed.",
    )
    seed = forms.IntegerField(initial=0, min_value=0, max_value=MAX_INT)

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Campaigns of one response at a time other than this one, with how much gold each has.
        regular = Q(items__check_kind=CheckKind.NONE)
        source = cast(SourceCampaignField, self.fields["source"])
        source.queryset = (
            Campaign.objects.exclude(pk=campaign.pk)
            .exclude(kind=CampaignKind.PAIRWISE)
            .annotate(
                gold_count=Count("items__gold", filter=regular),
                adjudicated_count=Count(
                    "items__gold",
                    filter=regular & Q(items__gold__source=GoldSource.ADJUDICATED),
                ),
            )
            .order_by("-created_at")
        )


class AttentionChecksForm(forms.Form):
    count = forms.IntegerField(initial=10, max_value=MAX_INT, help_text="At most this many.")
    seed = forms.IntegerField(initial=0, min_value=0, max_value=MAX_INT)


# The most an upload of hand-written checks may hold.
WRITTEN_CHECKS_MAX_BYTES = 10 * 1024 * 1024


class WrittenChecksForm(forms.Form):
    """Hand-written gold questions as JSON Lines, uploaded or pasted (one of the two)."""

    file = forms.FileField(required=False, label="JSON Lines file")
    text = forms.CharField(
        required=False,
        label="Or paste them",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='One per line: {"prompt": "...", "response": "...", "answer": "...", '
        '"category": "...", "subcategory": "..."} (category and subcategory optional).',
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, text = data.get("file"), data.get("text", "")
        if upload and text.strip():
            raise forms.ValidationError("Give a file or pasted lines, not both.")
        if not upload and not text.strip():
            raise forms.ValidationError("Give a JSON Lines file or paste the lines.")
        data["jsonl"] = _upload_text(upload) if upload else text
        data["given_as"] = "file" if upload else "text"
        return data


def _upload_text(upload: Any) -> str:
    if upload.size > WRITTEN_CHECKS_MAX_BYTES:
        raise forms.ValidationError(
            f"The file is {upload.size / 1e6:.1f} MB, over the "
            f"{WRITTEN_CHECKS_MAX_BYTES / 1e6:.0f} MB limit: split it."
        )
    data = upload.read()
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise forms.ValidationError(
            f"The file is not UTF-8: byte 0x{data[error.start]:02x} on line {line} cannot be "
            "decoded; save it as UTF-8."
        ) from None
