from __future__ import annotations

from typing import Any

from django import forms

from inference.models import ModelSpec
from judging.models import Judge, JudgeKind
from judging.selectors import judge_find, judge_version_choices

# Kinds a researcher does not define on the form: the built-in keyword judge, and an imported
# judge, which import_verdicts makes.
NOT_DEFINED_HERE = frozenset({JudgeKind.KEYWORD, JudgeKind.IMPORTED})

# The sentence that refuses a taken name tells the person what to tick.
NEW_VERSION_LABEL = "New version of an existing judge"


class JudgeRunForm(forms.Form):
    judge = forms.ChoiceField(help_text="A name means its newest version.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["judge"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = judge_version_choices()

    def clean_judge(self) -> Judge:
        selector: str = self.cleaned_data["judge"]
        judge = judge_find(selector)
        if judge is None:
            raise forms.ValidationError(f"No judge '{selector}'.")
        return judge


class JudgeCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    new_version = forms.BooleanField(
        required=False,
        label=NEW_VERSION_LABEL,
        help_text="Tick to give an existing name a new version; its old verdicts keep theirs.",
    )
    kind = forms.ChoiceField(choices=[c for c in JudgeKind.choices if c[0] not in NOT_DEFINED_HERE])
    model_spec = forms.ModelChoiceField(queryset=ModelSpec.objects.all(), label="Model")
    threshold = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="label_scoring only (default 0.5)."
    )


class VerdictsUploadForm(forms.Form):
    file = forms.FileField(
        help_text='JSON Lines of {"id", "turn"?, "label", "score"?, "raw_output"?} ("turn": '
        "which user turn's answer, by default the last), or an inspect_evals CoCoNot log (.eval, "
        ".json)."
    )
    judge = forms.CharField(
        max_length=200,
        help_text="An existing judge's newest version (NAME@N: version N), or a new imported "
        "judge.",
    )
