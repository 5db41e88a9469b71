from __future__ import annotations

from django.urls import path

from inference import views

app_name = "inference"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("start/", views.run_start, name="start"),
    path("upload/", views.responses_upload, name="upload"),
    path("<int:pk>/", views.run_detail, name="run"),
    path("<int:pk>/progress/", views.run_progress_partial, name="progress"),
    path("<int:pk>/cancel/", views.run_cancel, name="cancel"),
    path("<int:pk>/resume/", views.run_resume, name="resume"),
]
