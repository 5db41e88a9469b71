"""REST API routes (mounted at /api/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path
from rest_framework.routers import DefaultRouter

from api import views

app_name = "api"

router = DefaultRouter()
router.register("benchmarks", views.BenchmarkViewSet, basename="benchmark")
router.register("prompts", views.PromptViewSet, basename="prompt")
router.register("runs", views.RunViewSet, basename="run")
router.register("responses", views.ResponseViewSet, basename="response")
router.register("judges", views.JudgeViewSet, basename="judge")
router.register("verdicts", views.VerdictViewSet, basename="verdict")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("labels", views.LabelViewSet, basename="label")
router.register("gold-labels", views.GoldLabelViewSet, basename="gold-label")
router.register("uploads", views.UploadViewSet, basename="upload")

urlpatterns: list[URLPattern | URLResolver] = [
    path("token/", views.TokenView.as_view(), name="token"),
    *router.urls,
    # Last: what no route above matched. Paths without the final slash are left alone, so
    # that APPEND_SLASH still redirects them.
    re_path(r"^[\s\S]*/$", views.NotFoundView.as_view(), name="not-found"),
]
