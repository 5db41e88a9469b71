from __future__ import annotations

from django.urls import path

from analysis import export_views, views

app_name = "analysis"
urlpatterns = [
    path("runs/", views.run_report_page, name="runs"),
    path("campaigns/<int:pk>/", views.agreement_page, name="agreement"),
    path("campaigns/<int:pk>/export/", export_views.export_download, name="export"),
]
