from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.http import QueryDict

from accounts.numbers import MAX_INT, whole_number
from accounts.roles import ANNOTATOR
from annotate.models import CampaignKind, Sampling
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
        help_text="For 'Judge disagreement first'.",
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        if "scheme" in data:
            try:
                data["label_scheme"] = scheme_for(
                    name=data["scheme"], custom_json=data.get("custom_scheme", "")
                )
            except SchemeError as error:
                self.add_error("custom_scheme", str(error))
        return data


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
