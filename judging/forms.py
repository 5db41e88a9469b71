from __future__ import annotations

from django import forms

from inference.models import ModelSpec
from judging.models import Judge, JudgeKind


class JudgeRunForm(forms.Form):
    judge = forms.ModelChoiceField(queryset=Judge.objects.all(), to_field_name="name")


class JudgeCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=[c for c in JudgeKind.choices if c[0] != JudgeKind.KEYWORD])
    model_spec = forms.ModelChoiceField(queryset=ModelSpec.objects.all(), label="Model")
    threshold = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="label_scoring only (default 0.5)."
    )
