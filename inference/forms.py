from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps

from accounts.numbers import MAX_INT
from benchmarks.models import Benchmark
from inference.models import ModelSpec


class RunStartForm(forms.Form):
    benchmark = forms.ModelChoiceField(queryset=Benchmark.objects.all(), to_field_name="slug")
    model_spec = forms.ModelChoiceField(queryset=ModelSpec.objects.all(), label="Model")
    categories = forms.CharField(
        required=False,
        help_text="Comma-separated; empty for every category.",
    )
    limit = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_INT, help_text="Only the first N prompts."
    )
    judges_after = forms.MultipleChoiceField(
        required=False,
        label="Then judge with",
        widget=forms.CheckboxSelectMultiple,
        help_text="Started as soon as the last response is in.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Looked up by name: inference must not import judging (the arrows point one way).
        field = self.fields["judges_after"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = newest_judge_versions()

    def clean_categories(self) -> list[str]:
        raw: str = self.cleaned_data["categories"]
        return [part.strip() for part in raw.split(",") if part.strip()]


class ResponsesUploadForm(forms.Form):
    file = forms.FileField(
        help_text='JSON Lines or CSV of {"id", "response"} (CoCoNot rows with the response too).'
    )
    benchmark = forms.ModelChoiceField(queryset=Benchmark.objects.all(), to_field_name="slug")
    model = forms.CharField(max_length=200, help_text='Shown as the model, e.g. "gpt-4".')


def newest_judge_versions() -> list[tuple[str, str]]:
    """Each judge name, shown with its newest version's label: "then judge with X" reads the
    newest version of X when the judge run starts, as ``generate --then-judge X`` does."""
    judges = apps.get_model("judging", "Judge").objects.order_by("name", "version")
    newest = {judge.name: judge for judge in judges}
    return [(name, judge.label) for name, judge in newest.items()]
