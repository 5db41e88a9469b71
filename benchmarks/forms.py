from __future__ import annotations

from django import forms

from benchmarks.models import BenchmarkKind


class BenchmarkUploadForm(forms.Form):
    file = forms.FileField(
        help_text="JSON Lines (.jsonl) or CSV: id, category, subcategory, prompt."
    )
    slug = forms.CharField(max_length=100, help_text="Short name, e.g. coconot.")
    kind = forms.ChoiceField(choices=BenchmarkKind.choices)
    name = forms.CharField(max_length=200, required=False, help_text="Default: the slug.")
    description = forms.CharField(required=False)
    rubric = forms.FileField(
        required=False, help_text="Optional: CoCoNot's refusal_evaluation_rubric.json schema."
    )
