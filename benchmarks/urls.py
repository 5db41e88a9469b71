from __future__ import annotations

from django.urls import path

from benchmarks import views

app_name = "benchmarks"
urlpatterns = [
    path("", views.benchmark_list, name="list"),
    path("upload/", views.benchmark_upload, name="upload"),
    path("<slug:slug>/", views.benchmark_detail, name="detail"),
]
