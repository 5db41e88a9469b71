from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from annotate.models import Sampling
from annotate.schemes import BUILT_IN_SCHEMES, COCONOT, CUSTOM, SchemeError, scheme_for
from config.roles import ANNOTATOR
from inference.models import GenerationRun
from judging.models import Judge


def comma_separated(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    runs = forms.ModelMultipleChoiceField(
        queryset=GenerationRun.objects.select_related("benchmark").order_by("-created_at"),
        widget=forms.CheckboxSelectMultiple,
        help_text="Responses of these runs are what people label.",
    )
    categories = forms.CharField(required=False, help_text="Comma-separated; empty for all.")
    subcategories = forms.CharField(required=False, help_text="Comma-separated; empty for all.")
    sampling = forms.ChoiceField(choices=Sampling.choices, initial=Sampling.ALL)
    sample_size = forms.IntegerField(
        required=False, min_value=1, help_text="Items to draw (all but 'All responses')."
    )
    sampling_judges = forms.ModelMultipleChoiceField(
        queryset=Judge.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For 'Judge disagreement first'.",
    )
    seed = forms.IntegerField(initial=0, min_value=0)
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

    def clean_categories(self) -> list[str]:
        return comma_separated(self.cleaned_data["categories"])

    def clean_subcategories(self) -> list[str]:
        return comma_separated(self.cleaned_data["subcategories"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "scheme" in data:
            try:
                data["label_scheme"] = scheme_for(
                    name=data["scheme"], custom_json=data.get("custom_scheme", "")
                )
            except SchemeError as error:
                self.add_error("custom_scheme", str(error))
        return data


class GoldForm(forms.Form):
    value = forms.CharField(max_length=50)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
