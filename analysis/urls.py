from __future__ import annotations

from django.urls import path

from analysis import export_views, pairwise_views, quality_views, views

app_name = "analysis"
urlpatterns = [
    path("runs/", views.run_report_page, name="runs"),
    path("campaigns/<int:pk>/", views.agreement_page, name="agreement"),
    path("campaigns/<int:pk>/export/", export_views.export_download, name="export"),
    path("campaigns/<int:pk>/refusals/", views.refusal_page, name="refusals"),
    path("campaigns/<int:pk>/pairwise/", pairwise_views.pairwise_page, name="pairwise"),
    path("campaigns/<int:pk>/training/", export_views.training_download, name="training"),
    path("campaigns/<int:pk>/annotators/", quality_views.annotators_page, name="annotators"),
]
