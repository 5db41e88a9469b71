"""REST API endpoints. They read through ``api.selectors`` and write through the
apps' services; who may call them is ``accounts.roles.IsResearcher`` (the default permission)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    Throttled,
    ValidationError,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from accounts.roles import user_is_researcher
from analysis.gold_policies import GOLD_POLICIES, gold_policy_parse
from analysis.reports import agreement_report, run_report
from analysis.selectors import campaign_data
from annotate.models import GoldSource
from annotate.services.campaigns import campaign_create
from annotate.services.errors import CampaignError
from api import selectors
from api.pagination import IdCursorPagination, SmallListPagination
from api.params import Filter, read_filters
from api.report_json import agreement_report_json, run_report_json
from api.serializers import (
    BenchmarkSerializer,
    BenchmarkUploadSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    GoldLabelSerializer,
    JudgeCreateSerializer,
    JudgeSerializer,
    LabelSerializer,
    PromptSerializer,
    ResponseSerializer,
    ResponsesUploadSerializer,
    RunCreateSerializer,
    RunSerializer,
    UploadSerializer,
    VerdictSerializer,
    VerdictsUploadSerializer,
)
from benchmarks.uploads import benchmark_upload_create
from inference.services import generation_run_create
from inference.uploads import responses_upload_create
from judging.models import VerdictLabel
from judging.services import JudgeSaveError, judge_save
from judging.uploads import verdicts_upload_create
from runs.errors import RunError
from uploads.errors import UploadRefused
from uploads.handlers import upload_size_refusal
from uploads.models import Upload

RUN = Filter("run", "Id of a generation run.", kind="id")
CAMPAIGN = Filter("campaign", "Id of a campaign.", kind="id")
CATEGORY = Filter("category", "Prompt category, exactly as stored.")


def filtered(filters: Sequence[Filter]) -> Any:
    """Declare a viewset's list filters in the schema."""
    return extend_schema_view(list=extend_schema(parameters=[f.parameter() for f in filters]))


def service_error(error: Exception) -> ValidationError:
    # A service error that names the field at fault is reported under it.
    field = getattr(error, "field", None) or api_settings.NON_FIELD_ERRORS_KEY
    return ValidationError({field: [str(error)]})


class ApiViewSet(ReadOnlyModelViewSet):
    """A read-only list and detail whose list takes ``filters`` from the query string."""

    filters: ClassVar[Sequence[Filter]] = ()

    def select(self, **filters: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if self.action == "list":
            return self.select(**read_filters(self.filters, self.request))
        return self.select()


SLUG = OpenApiParameter(
    "slug", str, OpenApiParameter.PATH, description="Benchmark slug.", pattern="^[-a-zA-Z0-9_]+$"
)


@extend_schema_view(retrieve=extend_schema(parameters=[SLUG]))
class BenchmarkViewSet(ApiViewSet):
    """Benchmarks with their number of prompts; one is looked up by its slug."""

    serializer_class = BenchmarkSerializer
    pagination_class = SmallListPagination
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_benchmarks()


PROMPT_FILTERS = (
    Filter("benchmark", "Benchmark slug."),
    CATEGORY,
    Filter("subcategory", "Prompt subcategory, exactly as stored."),
)


@filtered(PROMPT_FILTERS)
class PromptViewSet(ApiViewSet):
    """Prompts of all benchmarks, in id order."""

    serializer_class = PromptSerializer
    pagination_class = IdCursorPagination
    filters = PROMPT_FILTERS

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_prompts(**filters)


class RunViewSet(ApiViewSet):
    """Generation runs; POST starts one (its responses are generated by the workers)."""

    serializer_class = RunSerializer
    pagination_class = SmallListPagination

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_runs()

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str) -> Response:
        """Compliance rate per category and subcategory for each judge of this run."""
        run = self.get_object()
        return Response(run_report_json(run_report(runs=[run])))

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return RunCreateSerializer if self.action == "create" else RunSerializer

    @extend_schema(request=RunCreateSerializer, responses={201: RunSerializer})
    def create(self, request: Request) -> Response:
        form = RunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            run = generation_run_create(
                benchmark=data["benchmark"],
                model_spec=data["model_spec"],
                categories=data["categories"],
                limit=data["limit"],
                # As sent: a name means its newest version when the judge run starts.
                judges_after=data.get("judges_after", []),
                created_by=cast(User, request.user),
            )
        except RunError as error:
            raise service_error(error) from None
        return created(request, "api:run-detail", RunSerializer(self.select().get(pk=run.pk)))


RESPONSE_FILTERS = (RUN, CATEGORY)


@filtered(RESPONSE_FILTERS)
class ResponseViewSet(ApiViewSet):
    """Model responses, with their prompt's category, in id order."""

    serializer_class = ResponseSerializer
    pagination_class = IdCursorPagination
    filters = RESPONSE_FILTERS

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_responses(**filters)


class JudgeViewSet(ApiViewSet):
    """Automatic judges, one row per version; POST makes one (``new_version`` for the next
    version of a name that exists)."""

    serializer_class = JudgeSerializer
    pagination_class = SmallListPagination

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_judges()

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return JudgeCreateSerializer if self.action == "create" else JudgeSerializer

    @extend_schema(request=JudgeCreateSerializer, responses={201: JudgeSerializer})
    def create(self, request: Request) -> Response:
        form = JudgeCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            judge = judge_save(**form.validated_data, how_to_ask='send "new_version": true')
        except JudgeSaveError as error:
            field = error.field if error.field in form.fields else None
            if field is None:
                raise service_error(error) from None
            raise ValidationError({field: [str(error)]}) from None
        return created(request, "api:judge-detail", JudgeSerializer(judge))


VERDICT_FILTERS = (
    RUN,
    Filter("judge", "Judge: a name (its newest version), NAME@N or the label 'NAME vN'."),
    Filter("judge_run", "Id of one judge run.", kind="id"),
    Filter("label", "Verdict label.", kind="choice", choices=VerdictLabel.values),
    CATEGORY,
)


@filtered(VERDICT_FILTERS)
class VerdictViewSet(ApiViewSet):
    """Judges' verdicts, one per judge run and response, with the judge's raw output."""

    serializer_class = VerdictSerializer
    pagination_class = IdCursorPagination
    filters = VERDICT_FILTERS

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_verdicts(**filters)


class CampaignViewSet(ApiViewSet):
    """Labelling campaigns; POST creates one and draws its items."""

    serializer_class = CampaignSerializer
    pagination_class = SmallListPagination

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_campaigns()

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "gold",
                str,
                enum=list(GOLD_POLICIES),
                description="Whose gold labels: the campaign's own (agreed or adjudicated, the "
                "default), or a Dawid-Skene or MACE model of the annotators.",
            )
        ],
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str) -> Response:
        """Judges against the gold labels, annotators against each other, corrected rates."""
        campaign = self.get_object()
        run_labels = {run.pk: f"#{run.pk} {run.model_name}" for run in campaign.runs.all()}
        report = agreement_report(
            data=campaign_data(campaign=campaign),
            run_labels=run_labels,
            gold_policy=gold_policy_parse(request.query_params.get("gold")),
        )
        return Response(agreement_report_json(report))

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return CampaignCreateSerializer if self.action == "create" else CampaignSerializer

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer})
    def create(self, request: Request) -> Response:
        form = CampaignCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            campaign = campaign_create(created_by=cast(User, request.user), **form.validated_data)
        except CampaignError as error:
            raise service_error(error) from None
        serializer = CampaignSerializer(self.select().get(pk=campaign.pk))
        return created(request, "api:campaign-detail", serializer)


LABEL_FILTERS = (CAMPAIGN, RUN, CATEGORY, Filter("label", "Label value.", argument="value"))


@filtered(LABEL_FILTERS)
class LabelViewSet(ApiViewSet):
    """Annotators' labels, one per annotator and item; ``annotator`` is a username."""

    serializer_class = LabelSerializer
    pagination_class = IdCursorPagination
    filters = LABEL_FILTERS

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_labels(**filters)


GOLD_FILTERS = (
    CAMPAIGN,
    RUN,
    CATEGORY,
    Filter("label", "Gold label value.", argument="value"),
    Filter("source", "How the gold label was set.", kind="choice", choices=GoldSource.values),
)


@filtered(GOLD_FILTERS)
class GoldLabelViewSet(ApiViewSet):
    """Gold labels of campaign items: all annotators agreed, or a researcher decided."""

    serializer_class = GoldLabelSerializer
    pagination_class = IdCursorPagination
    filters = GOLD_FILTERS

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_gold_labels(**filters)


class UploadTooBig(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is over the limit."


def upload_refusal(error: UploadRefused) -> APIException:
    """The one sentence under the field at fault: a 400, or a 413 for a file over the limit."""
    if error.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return UploadTooBig({error.field: [str(error)]})
    return ValidationError({error.field: [str(error)]})


UPLOAD_TOO_BIG = OpenApiResponse(
    OpenApiTypes.OBJECT, description="The file is over DEMUR_UPLOAD_MAX_BYTES; nothing was kept."
)


def upload_started(
    request: Request,
    serializer_class: type[serializers.Serializer[Any]],
    start: Callable[[dict[str, Any]], Upload],
) -> Response:
    """Check the fields, keep the file and queue its import: 202 with the upload's URL, where
    GET says how far it got and, at the end, what was imported or why nothing was."""
    form = serializer_class(data=request.data)  # request.data parses the body first
    refusal = upload_size_refusal(request.META)
    if refusal is not None:
        raise upload_refusal(refusal)
    form.is_valid(raise_exception=True)
    try:
        upload = start(form.validated_data)
    except UploadRefused as error:
        raise upload_refusal(error) from None
    data = UploadSerializer(upload, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class UploadViewSet(ApiViewSet):
    """Files on their way in, newest first. POST a file (multipart) to benchmark/, responses/
    or verdicts/: it is checked, kept, and imported by a worker; the answer is 202 with the
    upload's URL. GET it for status (pending, running, done, failed), progress (rows done of
    total), and at the end the summary and result, or the one-sentence error (nothing was
    imported)."""

    serializer_class = UploadSerializer
    pagination_class = SmallListPagination
    lookup_value_regex = r"\d+"

    def select(self, **filters: Any) -> QuerySet[Any]:
        return selectors.api_uploads()

    @extend_schema(
        request={"multipart/form-data": BenchmarkUploadSerializer},
        responses={202: UploadSerializer, 413: UPLOAD_TOO_BIG},
    )
    @action(detail=False, methods=["post"], serializer_class=BenchmarkUploadSerializer)
    def benchmark(self, request: Request) -> Response:
        """A benchmark file (JSON Lines or CSV), with an optional rubric, under a slug."""
        user = cast(User, request.user)
        return upload_started(
            request,
            BenchmarkUploadSerializer,
            lambda data: benchmark_upload_create(**data, created_by=user),
        )

    @extend_schema(
        request={"multipart/form-data": ResponsesUploadSerializer},
        responses={202: UploadSerializer, 413: UPLOAD_TOO_BIG},
    )
    @action(detail=False, methods=["post"], serializer_class=ResponsesUploadSerializer)
    def responses(self, request: Request) -> Response:
        """Responses made elsewhere ({id, response} per line): a finished run of the model."""
        user = cast(User, request.user)
        return upload_started(
            request,
            ResponsesUploadSerializer,
            lambda data: responses_upload_create(**data, created_by=user),
        )

    @extend_schema(
        request={"multipart/form-data": VerdictsUploadSerializer},
        responses={202: UploadSerializer, 413: UPLOAD_TOO_BIG},
    )
    @action(detail=False, methods=["post"], serializer_class=VerdictsUploadSerializer)
    def verdicts(self, request: Request) -> Response:
        """A judge's verdicts made by another tool: a finished judge run of a finished run."""
        user = cast(User, request.user)
        return upload_started(
            request,
            VerdictsUploadSerializer,
            lambda data: verdicts_upload_create(**data, created_by=user),
        )


def created(request: Request, route: str, serializer: serializers.BaseSerializer[Any]) -> Response:
    location = reverse(route, kwargs={"pk": serializer.data["id"]}, request=request)
    return Response(serializer.data, status=status.HTTP_201_CREATED, headers={"Location": location})


class NotFoundView(APIView):
    """Any other path under /api/ ending in a slash (a slug with a dot, an id with a slash):
    a JSON 404 after the usual authentication, rather than Django's HTML page."""

    schema = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise NotFound


TOKEN_REFUSED = "API tokens are for researchers and admins."
LOGIN_LOCKED_OUT = "Too many failed logins for this username or from this address."


class TokenView(ObtainAuthToken):
    """POST: username and password in, the user's API token out; annotators get no token.
    DELETE, sent with the token: revoke it (the next POST makes a new one)."""

    # Credentials come in the body; a browser session must not turn this into a CSRF check. A
    # token authenticates DELETE; a POST without one is anonymous.
    authentication_classes = (TokenAuthentication,)
    permission_classes = ()
    # ObtainAuthToken names DRF's plain parsers; back to the project's, which refuse deep
    # nesting and NUL (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES, issue 11).
    parser_classes = APIView.parser_classes
    # Against password guessing: a few tries a minute from one address (DEFAULT_THROTTLE_RATES).
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "token"

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "DELETE" else []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password."),
            403: OpenApiResponse(description=TOKEN_REFUSED),
            429: OpenApiResponse(
                description="Too many tries, or too many failed logins (a lock-out that ends "
                "by itself); the answer says when to retry."
            ),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The serializer calls authenticate() with this request, where django-axes counts the
        # failure and marks a locked-out login (config/settings.py, AXES_*).
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        valid = serializer.is_valid()
        if getattr(request, "axes_locked_out", False):
            raise Throttled(
                wait=settings.AXES_COOLOFF_TIME.total_seconds(), detail=LOGIN_LOCKED_OUT
            )
        if not valid:
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        if not user_is_researcher(user):
            raise PermissionDenied(TOKEN_REFUSED)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="The token is revoked."),
            401: OpenApiResponse(description="No valid token was sent."),
        },
    )
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        Token.objects.filter(user=cast(User, request.user)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
