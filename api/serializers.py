"""What the API shows of each model, and what its write endpoints accept.

People appear by username: the API is for researchers and admins, who see the same names on
the campaign pages. (File exports, which leave the system, use pseudonyms instead.)
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.numbers import MAX_INT, whole_number
from accounts.roles import ANNOTATOR
from annotate.models import Campaign, CampaignKind, GoldLabel, Label, Sampling, Turns
from annotate.schemes import (
    BUILT_IN_SCHEMES,
    COCONOT,
    CUSTOM,
    PAIRWISE,
    SchemeError,
    scheme_for,
)
from annotate.services.campaigns import CAMPAIGN_SETTINGS
from benchmarks.models import Benchmark, BenchmarkKind, Prompt
from inference.models import GenerationRun, ModelSpec, Response
from judging.models import Judge, JudgeKind, JudgePrompt, Verdict
from judging.selectors import judge_find
from uploads.models import Upload
from uploads.selectors import upload_progress

# --- Reads ----------------------------------------------------------------------------------


class BenchmarkSerializer(serializers.ModelSerializer[Benchmark]):
    prompt_count = serializers.IntegerField(read_only=True)
    expected_behaviour = serializers.CharField(read_only=True)

    class Meta:
        model = Benchmark
        fields = [
            "id",
            "slug",
            "name",
            "kind",
            "expected_behaviour",
            "source",
            "description",
            "prompt_count",
            "created_at",
            "updated_at",
        ]


class PromptSerializer(serializers.ModelSerializer[Prompt]):
    benchmark: serializers.SlugRelatedField[Benchmark] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Prompt
        fields = [
            "id",
            "benchmark",
            "external_id",
            "category",
            "subcategory",
            "text",
            "messages",
            "user_turns",
            "metadata",
        ]
        extra_kwargs = {
            "messages": {"help_text": "A conversation's turns in the chat format; [] otherwise."},
            "user_turns": {
                "help_text": "A scripted conversation's user turns, answered in order; [] "
                "otherwise."
            },
        }


class RunSerializer(serializers.ModelSerializer[GenerationRun]):
    benchmark: serializers.SlugRelatedField[Benchmark] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    done = serializers.IntegerField(read_only=True, help_text="Responses stored so far.")
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username."
    )

    class Meta:
        model = GenerationRun
        fields = [
            "id",
            "benchmark",
            "model_spec",
            "model_name",
            "model_snapshot",
            "categories",
            "limit",
            "total",
            "done",
            "imported",
            "judges_after",
            "status",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ResponseSerializer(serializers.ModelSerializer[Response]):
    external_id = serializers.CharField(source="prompt.external_id", read_only=True)
    category = serializers.CharField(source="prompt.category", read_only=True)
    subcategory = serializers.CharField(source="prompt.subcategory", read_only=True)

    class Meta:
        model = Response
        fields = [
            "id",
            "run",
            "prompt",
            "external_id",
            "category",
            "subcategory",
            "turn",
            "messages",
            "text",
            "finish_reason",
            "prompt_tokens",
            "completion_tokens",
            "latency_ms",
            "error",
            "created_at",
        ]


class JudgeSerializer(serializers.ModelSerializer[Judge]):
    model_spec: serializers.SlugRelatedField[ModelSpec] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True, help_text="Model spec name."
    )

    # `label` ('name', or 'name vN' after version 1: how reports name it) and `selector`
    # (NAME@N: exactly this version) are the model's properties, read-only.

    class Meta:
        model = Judge
        fields = [
            "id",
            "name",
            "version",
            "label",
            "selector",
            "kind",
            "model_spec",
            "settings",
            "definition",
            "description",
            "created_at",
        ]


class VerdictSerializer(serializers.ModelSerializer[Verdict]):
    judge = serializers.CharField(source="judge_run.judge.name", read_only=True)
    judge_version = serializers.IntegerField(
        source="judge_run.judge.version", read_only=True, help_text="Version of the judge."
    )
    judge_label = serializers.CharField(
        source="judge_run.judge.label", read_only=True, help_text="'name', or 'name vN' after v1."
    )
    run = serializers.IntegerField(source="judge_run.run_id", read_only=True)
    category = serializers.CharField(source="response.prompt.category", read_only=True)
    subcategory = serializers.CharField(source="response.prompt.subcategory", read_only=True)
    turn = serializers.IntegerField(
        source="response.turn",
        read_only=True,
        help_text="The user turn the judged response answers, from 1.",
    )
    judge_prompt: serializers.SlugRelatedField[JudgePrompt] = serializers.SlugRelatedField(
        slug_field="sha256",
        read_only=True,
        allow_null=True,
        help_text="SHA-256 of the full prompt the judge read.",
    )

    class Meta:
        model = Verdict
        fields = [
            "id",
            "judge",
            "judge_version",
            "judge_label",
            "judge_run",
            "run",
            "response",
            "category",
            "subcategory",
            "turn",
            "label",
            "score",
            "rationale",
            "raw_output",
            "judge_prompt",
            "rubric",
            "latency_ms",
            "created_at",
        ]


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    sampling_judges: serializers.SlugRelatedField[Judge] = serializers.SlugRelatedField(
        slug_field="label", many=True, read_only=True, help_text="Judge versions, by label."
    )
    target_judge: serializers.SlugRelatedField[Judge] = serializers.SlugRelatedField(
        slug_field="label", read_only=True, allow_null=True, help_text="Judge version, by label."
    )
    annotators: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True, help_text="Usernames."
    )
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username."
    )
    item_count = serializers.IntegerField(read_only=True)
    annotator_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            *CAMPAIGN_SETTINGS,
            # Quality control, set on the campaign's checks page.
            "check_every",
            "attention_text",
            "min_seconds",
            "pause_below",
            "pause_after",
            "max_overlap",
            "sample_size_asked",
            "pool_size",
            "status",
            "is_demo",
            "item_count",
            "annotator_count",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class LabelSerializer(serializers.ModelSerializer[Label]):
    campaign = serializers.IntegerField(source="assignment.item.campaign_id", read_only=True)
    item = serializers.IntegerField(source="assignment.item_id", read_only=True)
    response = serializers.IntegerField(source="assignment.item.response_id", read_only=True)
    response_b = serializers.IntegerField(
        source="assignment.item.response_b_id",
        read_only=True,
        allow_null=True,
        help_text="A pairwise item's second response; null for a single response.",
    )
    swapped = serializers.BooleanField(
        source="assignment.item.swapped",
        read_only=True,
        help_text="Pairwise: response_b was shown on the left (labels say left or right).",
    )
    annotator = serializers.CharField(
        source="assignment.annotator.username", read_only=True, help_text="Username."
    )
    turn = serializers.IntegerField(
        read_only=True,
        help_text="The user turn the response answers, from 1 (1 for a single prompt).",
    )

    class Meta:
        model = Label
        fields = [
            "id",
            "campaign",
            "item",
            "response",
            "response_b",
            "swapped",
            "turn",
            "annotator",
            "value",
            "note",
            "time_spent_ms",
            "is_demo",
            "created_at",
            "updated_at",
        ]


class GoldLabelSerializer(serializers.ModelSerializer[GoldLabel]):
    campaign = serializers.IntegerField(source="item.campaign_id", read_only=True)
    response = serializers.IntegerField(source="item.response_id", read_only=True)
    response_b = serializers.IntegerField(
        source="item.response_b_id",
        read_only=True,
        allow_null=True,
        help_text="A pairwise item's second response; null for a single response.",
    )
    swapped = serializers.BooleanField(
        source="item.swapped",
        read_only=True,
        help_text="Pairwise: response_b was shown on the left (labels say left or right).",
    )
    turn = serializers.IntegerField(
        read_only=True,
        help_text="The user turn the response answers, from 1 (1 for a single prompt).",
    )
    decided_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username."
    )

    class Meta:
        model = GoldLabel
        fields = [
            "id",
            "campaign",
            "item",
            "response",
            "response_b",
            "swapped",
            "turn",
            "value",
            "source",
            "reason",
            "decided_by",
            "created_at",
            "updated_at",
        ]


# --- Writes ---------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class ModelSpecField(serializers.Field):
    """A model spec by name, or by id when no spec has that name."""

    default_error_messages = {"unknown": "No model spec is named or numbered {value!r}."}

    def to_internal_value(self, data: Any) -> ModelSpec:
        value = str(data).strip()
        spec = ModelSpec.objects.filter(name=value).first()
        number = whole_number(value)
        if spec is None and number is not None:
            spec = ModelSpec.objects.filter(pk=number).first()
        if spec is None:
            self.fail("unknown", value=value)
        return spec

    def to_representation(self, value: ModelSpec) -> str:
        return value.name


@extend_schema_field(OpenApiTypes.STR)
class JudgeField(serializers.RelatedField[Judge, Judge, Any]):
    """A judge by name (its newest version), by NAME@N, or by its label ``NAME vN``. With
    ``keep_text`` the value stays the text that was sent (checked to name a judge), for what
    is looked up later: a run's "then judge with" reads a bare name when the run finishes."""

    default_error_messages = {
        "unknown": "No judge {value!r}; give a name (its newest version) or NAME@N."
    }

    def __init__(self, *, keep_text: bool = False, **kwargs: Any) -> None:
        self.keep_text = keep_text
        super().__init__(queryset=Judge.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        value = str(data).strip()
        judge = judge_find(value)
        if judge is None:
            self.fail("unknown", value=value)
        return value if self.keep_text else judge

    def to_representation(self, value: Any) -> str:
        return str(value.selector)


class JudgeCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    # Plain text, checked by the service: a second enum named "kind" (benchmarks have one)
    # would collide in the schema.
    kind = serializers.CharField(help_text=f"One of {', '.join(JudgeKind.values)}.")
    model_spec = ModelSpecField(required=False, default=None, help_text="Model spec name (or id).")
    settings = serializers.DictField(required=False, default=dict)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    new_version = serializers.BooleanField(
        default=False, help_text="The name exists: make its next version instead of refusing."
    )


class RunCreateSerializer(serializers.Serializer[Any]):
    benchmark = serializers.SlugRelatedField(
        slug_field="slug", queryset=Benchmark.objects.all(), help_text="Benchmark slug."
    )
    model_spec = ModelSpecField(help_text="Model spec name (or id).")
    categories = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Empty for all."
    )
    limit = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_INT,
        help_text="First N prompts.",
    )
    judges_after = JudgeField(
        keep_text=True,
        many=True,
        required=False,
        help_text="Judges to run once all responses are in: a name (its newest version) or NAME@N.",
    )


SCHEME_CHOICES = [*BUILT_IN_SCHEMES, CUSTOM]


class CampaignCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    kind = serializers.ChoiceField(
        choices=CampaignKind.choices,
        default=CampaignKind.SINGLE,
        help_text="'pairwise': two runs or more over one benchmark, compared side by side.",
    )
    runs = serializers.PrimaryKeyRelatedField(
        queryset=GenerationRun.objects.all(), many=True, help_text="Ids of generation runs."
    )
    categories = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    subcategories = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    exclude_truncated = serializers.BooleanField(
        default=False, help_text="Leave out responses cut off at the length limit."
    )
    turns = serializers.ChoiceField(
        choices=Turns.choices,
        default=Turns.LAST,
        help_text="'last': each conversation's last answer (a single prompt's one answer); "
        "'every': every answer of scripted conversations, served to an annotator in order, "
        "whole conversations drawn (sample_size then counts conversations).",
    )
    sampling = serializers.ChoiceField(choices=Sampling.choices, default=Sampling.ALL)
    sample_size = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_INT
    )
    sampling_judges = JudgeField(
        many=True, required=False, help_text="A name (its newest version) or NAME@N."
    )
    pilot = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Neyman allocation: the id of a campaign whose gold labels show where the "
        "sampling judge errs.",
    )
    active_uniform_share = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0.01,
        max_value=1,
        help_text="Active sampling: the share of each response's chance that is uniform "
        "(default 0.25).",
    )
    seed = serializers.IntegerField(default=0, min_value=0, max_value=MAX_INT)
    overlap = serializers.IntegerField(default=3, min_value=1, max_value=50)
    scheme = serializers.ChoiceField(
        choices=SCHEME_CHOICES,
        required=False,
        help_text=f"Built-in label scheme, or {CUSTOM!r} with custom_scheme; default {COCONOT!r} "
        f"({PAIRWISE!r} for a pairwise campaign).",
    )
    custom_scheme = serializers.JSONField(
        required=False,
        help_text='{"name": "...", "choices": [{"value": "yes", "label": "Yes", "key": "1"}]}',
    )
    guidelines = serializers.CharField(required=False, default="", allow_blank=True)
    show_model_name = serializers.BooleanField(default=False)
    annotators = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(groups__name=ANNOTATOR, is_active=True),
        many=True,
        required=False,
        help_text="Usernames of annotators.",
    )
    reservation_minutes = serializers.IntegerField(default=30, min_value=1, max_value=24 * 60)
    # Checked by the service (range, judge, scheme, sampling), one sentence naming the field.
    target_half_width = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Stop serving a category once the target judge's corrected compliance rate's "
        "anytime-valid 95% interval is within ± this share (0.03 is ±3 points); null: no target.",
    )
    target_judge = JudgeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The target's judge: a name (its newest version) or NAME@N.",
    )
    target_per_category = serializers.BooleanField(
        default=True, help_text="A target per prompt category; false: one for the whole campaign."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Swap ``scheme`` and ``custom_scheme`` for the frozen ``label_scheme``, as the
        campaign form does."""
        custom = attrs.pop("custom_scheme", None)
        kind_default = PAIRWISE if attrs.get("kind") == CampaignKind.PAIRWISE else COCONOT
        scheme = attrs.pop("scheme", CUSTOM if custom is not None else kind_default)
        if custom is not None and scheme != CUSTOM:
            raise serializers.ValidationError(
                {"custom_scheme": f"A custom scheme needs scheme {CUSTOM!r}, not {scheme!r}."}
            )
        if scheme == CUSTOM and custom is None:
            raise serializers.ValidationError(
                {"custom_scheme": f"Scheme {CUSTOM!r} needs a custom_scheme."}
            )
        text = custom if isinstance(custom, str) else json.dumps(custom)
        try:
            attrs["label_scheme"] = scheme_for(name=scheme, custom_json=text)
        except SchemeError as error:
            raise serializers.ValidationError({"custom_scheme": str(error)}) from None
        return attrs


# --- Uploads --------------------------------------------------------------------------------


class UploadProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField(help_text="Rows written so far.")
    total = serializers.IntegerField(
        allow_null=True, help_text="Rows the file holds; null while it is read and checked."
    )


class UploadSerializer(serializers.ModelSerializer[Upload]):
    url = serializers.HyperlinkedIdentityField(view_name="api:upload-detail")
    file = serializers.CharField(source="file_name", read_only=True)
    progress = serializers.SerializerMethodField()
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Upload
        fields = [
            "id",
            "url",
            "kind",
            "status",
            "file",
            "options",
            "progress",
            "summary",
            "result",
            "result_url",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(UploadProgressSerializer)
    def get_progress(self, upload: Upload) -> dict[str, Any]:
        progress = upload_progress(upload=upload)
        return {"done": progress.done, "total": progress.total}


class BenchmarkUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="JSON Lines or CSV: id, category, subcategory, prompt.")
    slug = serializers.CharField(max_length=100, help_text="Short name, e.g. coconot.")
    kind = serializers.ChoiceField(choices=BenchmarkKind.choices)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    rubric = serializers.FileField(
        required=False, default=None, help_text="CoCoNot's refusal_evaluation_rubric.json schema."
    )


class ResponsesUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text='JSON Lines or CSV of {"id", "response"}.')
    benchmark = serializers.SlugRelatedField(
        slug_field="slug", queryset=Benchmark.objects.all(), help_text="Benchmark slug."
    )
    model = serializers.CharField(max_length=200, help_text='Shown as the model, e.g. "gpt-4".')


class VerdictsUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text='JSON Lines of {"id", "label", "score"?, "raw_output"?}, or an inspect_evals '
        "CoCoNot log (.eval, .json)."
    )
    run = serializers.PrimaryKeyRelatedField(
        queryset=GenerationRun.objects.select_related("benchmark"),
        help_text="Id of the generation run the verdicts judge.",
    )
    judge = serializers.CharField(
        max_length=200,
        help_text="An existing judge's newest version (NAME@N: version N), or a new imported "
        "judge.",
    )
